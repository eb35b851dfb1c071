import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../server/domain/message.ts';
import { toneWav } from '../../server/media/tone.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { explain, run, type RunResult } from './fixtures/clients-run.ts';

let server: TestServer;
let dir: string;
let rc: string;
const maildir = (): string => join(dir, 'mail');
const deposited = new Map<string, { message: Message; audio: Uint8Array }>();

async function deposit(callerNumber: string, seconds: number): Promise<void> {
  const audio = toneWav({ seconds, frequency: 300 + seconds * 100 });
  const [message] = await server.context.messages.deposit({ mailbox: '201', audio, callerNumber });
  deposited.set(callerNumber, { message: message!, audio });
}

beforeAll(async () => {
  server = await startTestServer();
  await server.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  await deposit('5550001', 2);
  await deposit('5550002', 3);
  dir = mkdtempSync(join(tmpdir(), 'voicegate-mbsync-'));
  rc = join(dir, 'mbsyncrc');
  mkdirSync(maildir());
  // Written for isync 1.4 (Debian 12): 1.5 renamed SSLType to TLSType but still reads SSLType.
  writeFileSync(
    rc,
    `IMAPAccount voicegate
Host 127.0.0.1
Port ${server.ports.imaps}
SSLType IMAPS
CertificateFile ${join(server.dir, 'tls', 'cert.pem')}
User 201
Pass 1234

IMAPStore voicegate-far
Account voicegate

MaildirStore local-near
Path ${maildir()}/
Inbox ${maildir()}/INBOX
SubFolders Verbatim

# Voicegate's folders are fixed and it refuses APPEND and CREATE, so nothing may travel up but
# flags: "Pull" brings new messages, flag changes and deletions down; "PushFlags" sends the
# Maildir's flags up (S = heard, F = saved). Pushing new messages (APPEND) or creating folders on
# the far side ("Create Far") would fail by design; "Create Near" makes the local Trash.
Channel voicegate
Far :voicegate-far:
Near :local-near:
Patterns INBOX Trash
Create Near
Sync Pull PushFlags
SyncState *
`,
  );
});
afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function mbsync(...args: string[]): Promise<RunResult> {
  const r = await run('mbsync', ['-c', rc, ...args, '-a'], { timeoutMs: 20_000 });
  expect(r.code, explain(r)).toBe(0);
  return r;
}

interface MaildirMessage {
  path: string;
  flags: string;
  content: string;
}

/** The Maildir's INBOX by calling number (X-CallingTelephoneNumber). */
function inbox(): Map<string, MaildirMessage> {
  const found = new Map<string, MaildirMessage>();
  for (const sub of ['new', 'cur']) {
    const folder = join(maildir(), 'INBOX', sub);
    for (const name of readdirSync(folder)) {
      const content = readFileSync(join(folder, name), 'latin1');
      const caller = /^X-CallingTelephoneNumber: (\S+)\r?$/m.exec(content)?.[1] ?? name;
      found.set(caller, { path: join(folder, name), flags: name.split(':2,')[1] ?? '', content });
    }
  }
  return found;
}

/** Adds Maildir flags the way a mail client does: move to cur/ and rewrite the ":2," info. */
function addFlags(m: MaildirMessage, add: string): void {
  const base = m.path.split('/').pop()!.split(':2,')[0]!;
  const flags = [...new Set(m.flags + add)].sort().join('');
  const cur = join(maildir(), 'INBOX', 'cur');
  renameSync(m.path, join(cur, `${base}:2,${flags}`));
  // mbsync waits a second when the folder changed within the current second; a mail client's
  // change would be older than that.
  const past = new Date(Date.now() - 5000);
  utimesSync(cur, past, past);
}

/** The decoded audio/wav part of a message file. */
function wavOf(content: string): Buffer {
  const part =
    /Content-Type: audio\/wav[^\r\n]*(?:\r?\n[^\r\n]+)*\r?\n\r?\n([A-Za-z0-9+/=\r\n]+)/.exec(
      content,
    );
  expect(part, 'an audio/wav part').not.toBeNull();
  return Buffer.from(part![1]!.replace(/\s/g, ''), 'base64');
}

async function stateOf(caller: string): Promise<string | undefined> {
  return (await server.context.store.getMessage(deposited.get(caller)!.message.id))?.state;
}

describe('mbsync (isync) syncing a Maildir', () => {
  it('brings the voicemails down with their WAV, without marking them heard', async () => {
    await mbsync();
    const local = inbox();
    expect([...local.keys()].sort()).toEqual(['5550001', '5550002']);
    for (const [caller, m] of local) {
      expect(m.content).toMatch(
        new RegExp(`^Subject: Voicemail Message \\(${caller} > alice\\) From:${caller}\\r?$`, 'm'),
      );
      expect(wavOf(m.content).equals(Buffer.from(deposited.get(caller)!.audio))).toBe(true);
      expect(m.flags).toBe('');
    }
    readdirSync(join(maildir(), 'Trash', 'cur')); // created locally by "Create Near"
    expect(await stateOf('5550001')).toBe('new');
    expect(await stateOf('5550002')).toBe('new');
  });

  it('sends flags set in the Maildir up: F saves a message, S marks it heard', async () => {
    const local = inbox();
    addFlags(local.get('5550001')!, 'F');
    addFlags(local.get('5550002')!, 'S');
    await mbsync();
    expect(await stateOf('5550001')).toBe('saved');
    expect(await stateOf('5550002')).toBe('old');
    // Voicegate shows a saved message as heard too (\Seen \Flagged); the next sync brings that down.
    await mbsync();
    expect(inbox().get('5550001')!.flags).toBe('FS');
    expect(inbox().get('5550002')!.flags).toBe('S');
  });

  it('brings a voicemail deposited since the last sync', async () => {
    await deposit('5550003', 1);
    await mbsync();
    const m = inbox().get('5550003');
    expect(m, 'the new voicemail in the Maildir').toBeDefined();
    expect(wavOf(m!.content).equals(Buffer.from(deposited.get('5550003')!.audio))).toBe(true);
    expect(await stateOf('5550003')).toBe('new');
  });

  // Regression (fixed): with COMPRESS=DEFLATE active (mbsync always enables it), the server's "* BYE" and tagged
  // OK to LOGOUT are lost: imap-core's LOGOUT closes the socket on the next tick while zlib is
  // still compressing them, so every run ends with mbsync's "IMAP error: unexpected EOF".
  it('logs out cleanly (the LOGOUT reply arrives under COMPRESS=DEFLATE)', async () => {
    const r = await mbsync();
    expect(r.stderr + r.stdout, explain(r)).not.toMatch(/IMAP error/);
  });

  // Regression (fixed): SELECT announces PERMANENTFLAGS (\Answered \Flagged \Draft \Deleted \Seen \*), but only
  // \Seen, \Flagged and \Deleted are kept (RFC 3501 7.1: PERMANENTFLAGS are the flags a client
  // can change permanently). Seen from mbsync: a Maildir R (replied) goes up as \Answered, is
  // answered OK and dropped, and the next sync strips R locally. (mbsync 1.4 pushes R even when
  // told the truth, so the fix corrects what clients are told, not that round trip.)
  it('is told only the flags Voicegate keeps are permanent', async () => {
    const r = await mbsync('-Dn');
    const permanent = /\[PERMANENTFLAGS \(([^)]*)\)\]/.exec(r.stdout + r.stderr)?.[1];
    expect(permanent?.split(' ').sort()).toEqual(['\\Deleted', '\\Flagged', '\\Seen']);
  });
});
