import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mailbox } from '../../server/domain/mailbox.ts';
import type { Message } from '../../server/domain/message.ts';
import { toneWav } from '../../server/media/tone.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { RawImap } from './fixtures/clients-raw-imap.ts';

let server: TestServer;
let ca: Buffer;
let alice: Mailbox;
let long: Message;
beforeAll(async () => {
  server = await startTestServer();
  ca = readFileSync(join(server.dir, 'tls', 'cert.pem'));
  alice = await server.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  // bob is the one locked out, so that alice's sessions are not affected.
  await server.context.mailboxes.add({ name: 'bob', extension: '202' }, '2468');
  await server.context.messages.deposit({
    mailbox: '201',
    audio: toneWav({ seconds: 2 }),
    callerNumber: '5551234',
  });
  // A one-minute message: 960 KB of WAV, about 1.3 MB as MIME.
  long = (
    await server.context.messages.deposit({
      mailbox: '201',
      audio: toneWav({ seconds: 60 }),
      callerNumber: '5559999',
    })
  )[0]!;
});
afterAll(async () => server?.stop());

const login = (user = '201', pass = '1234'): Promise<RawImap> =>
  RawImap.login(server.ports.imaps, ca, user, pass);

/** What the store holds for alice, in a form two snapshots can be compared by. */
async function snapshot(): Promise<unknown> {
  const messages = await server.context.store.listMessages(alice.id);
  return {
    modseq: await server.context.store.highestModseq(alice.id),
    messages: messages
      .map((m) => ({ id: m.id, state: m.state, folder: m.folder, uid: m.uid, modseq: m.modseq }))
      .sort((a, b) => a.id.localeCompare(b.id)),
  };
}

/** Audio files this process (the server runs in it) holds open, from Linux's /proc. */
function openAudioFiles(): string[] {
  const audio = join(server.dir, 'audio');
  return readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return ''; // closed meanwhile (e.g. the fd of readdirSync itself)
      }
    })
    .filter((target) => target.startsWith(audio) && isFile(target));
}

/** A file, not a folder: the store keeps its audio folders open for their fsyncs (audio-files.ts). */
function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false; // removed meanwhile
  }
}

/** Starts a FETCH of the whole 1-minute message, reads a few KB and drops the connection. */
async function abandonFetch(): Promise<void> {
  const c = await login();
  await c.command('SELECT INBOX');
  const start = c.received;
  // BODY.PEEK[] as sync clients send it; a plain BODY[] would mark the message heard first.
  c.send(`${c.nextTag()} UID FETCH ${long.uid} BODY.PEEK[]\r\n`);
  await c.receivedAtLeast(start + 16 * 1024);
  c.socket.destroy();
  await new Promise((resolve) => setTimeout(resolve, 300));
}

/** The session is alive and useful: it selects INBOX and reads both messages' flags. */
async function stillWorks(c: RawImap): Promise<void> {
  const select = await c.command('SELECT INBOX');
  expect(select.status).toMatch(/^\S+ OK/);
  expect(select.untagged).toContain('* 2 EXISTS');
  const fetch = await c.command('UID FETCH 1:* (FLAGS)');
  expect(fetch.status).toMatch(/^\S+ OK/);
  expect(fetch.untagged).toHaveLength(2);
}

/** Fifty lines no IMAP server should accept, of many kinds; none of them uses a literal. */
const MALFORMED = [
  'FOO',
  'XYZZY 1 2 3',
  'SELECT',
  'SELECT "unterminated',
  'EXAMINE',
  'STATUS',
  'STATUS INBOX',
  'STATUS INBOX (FOO)',
  'STATUS INBOX (MESSAGES',
  'LIST',
  'LIST ""',
  'LSUB',
  'SUBSCRIBE',
  'UNSUBSCRIBE',
  'CREATE',
  'RENAME',
  'RENAME INBOX',
  'DELETE',
  'APPEND',
  'APPEND INBOX',
  'FETCH 1 (FLAGS)', // nothing selected yet
  'UID FETCH 1:* (FLAGS)',
  'STORE 1 +FLAGS (\\Seen)',
  'UID STORE',
  'COPY 1 Trash',
  'MOVE 1 Trash',
  'UID MOVE',
  'EXPUNGE',
  'UID EXPUNGE',
  'CLOSE',
  'SEARCH (',
  'UID SEARCH (',
  'UID',
  'UID FOO 1',
  'AUTHENTICATE',
  'AUTHENTICATE FOO',
  'LOGIN a', // already logged in
  'COMPRESS',
  'COMPRESS LZ4',
  'GETQUOTAROOT',
  'GETQUOTA',
  'SETQUOTA',
  'ID (',
  'NAMESPACE x',
  'CAPABILITY x',
  'NOOP extra',
  'IDLE extra',
  '"quoted" NOOP',
  '\x01\x02\x03',
  'ÿþ garbage',
];

describe('bad input over a raw TLS socket', () => {
  it('answers 50 malformed commands with BAD or NO and keeps the session', async () => {
    expect(MALFORMED).toHaveLength(50);
    const before = await snapshot();
    const c = await login();
    try {
      for (const line of MALFORMED) {
        const tag = c.nextTag();
        c.send(`${tag} ${line}\r\n`);
        const reply = await c.line();
        expect(reply, line).toMatch(new RegExp(`^${tag} (BAD|NO)\\b`));
      }
      await stillWorks(c);
    } finally {
      await c.logout();
    }
    expect(await snapshot()).toEqual(before);
  });

  it('answers BAD to sequence numbers and UIDs outside 1 to 2^32-1, acting on nothing', async () => {
    const before = await snapshot();
    const c = await login();
    try {
      await c.command('SELECT INBOX');
      for (const line of [
        'FETCH 0 (FLAGS)',
        'FETCH 0:* (FLAGS)',
        'FETCH 0:1 (FLAGS)',
        'FETCH 1,0 (FLAGS)',
        'FETCH 01 (FLAGS)',
        'FETCH 4294967296 (FLAGS)',
        'UID FETCH 0 (FLAGS)',
        'UID FETCH 0:* (FLAGS)',
        'STORE 0 +FLAGS (\\Flagged)',
        'UID STORE 0:* +FLAGS (\\Deleted)',
        'MOVE 0 Trash',
        'UID MOVE 0 Trash',
        'UID EXPUNGE 0',
        'SEARCH 0',
        'UID SEARCH UID 0:*',
      ]) {
        const reply = await c.command(line);
        expect(reply.status, line).toMatch(/^\S+ BAD /);
        expect(reply.untagged, line).toEqual([]);
      }
      // The largest valid number and * are fine.
      expect((await c.command('FETCH 4294967295 (FLAGS)')).status).toMatch(/^\S+ OK/);
      expect((await c.command('FETCH 1 (FLAGS)')).untagged).toHaveLength(1);
      expect((await c.command('UID SEARCH UID 1:*')).untagged).toHaveLength(1);
      await stillWorks(c);
    } finally {
      await c.logout();
    }
    expect(await snapshot()).toEqual(before);
  });

  it('answers BAD to SEARCH dates that are no day, and lives on', async () => {
    const c = await login();
    try {
      await c.command('SELECT INBOX');
      for (const line of [
        'SEARCH SINCE 32-Jan-2020',
        'SEARCH BEFORE 0-Jan-2020',
        'UID SEARCH ON 99-Feb-2021',
        'SEARCH SENTSINCE 00-Mar-2022',
      ]) {
        const reply = await c.command(line);
        expect(reply.status, line).toMatch(/^\S+ BAD /);
      }
      expect((await c.command('SEARCH SINCE 1-Jan-2020')).untagged).toEqual(['* SEARCH 1 2']);
      await stillWorks(c);
    } finally {
      await c.logout();
    }
  });

  it('answers BAD to commands whose arguments imap-core reads unchecked (ENABLE with none), and lives on', async () => {
    const c = await login();
    try {
      for (const line of ['ENABLE', 'ENABLE ']) {
        const reply = await c.command(line);
        expect(reply.status, line).toMatch(/^\S+ BAD /);
      }
      expect((await c.command('ENABLE CONDSTORE')).status).toMatch(/^\S+ OK/);
      await stillWorks(c);
    } finally {
      await c.logout();
    }
  });

  it('ends a session after more than 50 protocol errors, and only that one', async () => {
    const c = await login();
    const other = await login();
    try {
      for (let i = 0; i < 51; i++) c.send(`${c.nextTag()} FOO\r\n`);
      const lines: string[] = [];
      while (!c.closed) lines.push(await c.line().catch(() => ''));
      expect(lines).toContain('* BYE Too many protocol errors');
      await stillWorks(other);
    } finally {
      await other.logout();
      c.socket.destroy();
    }
  });

  it('refuses huge literals for commands other than APPEND, and lines over the limit', async () => {
    const c = await login();
    try {
      await c.command('SELECT INBOX');
      const tag = c.nextTag();
      // A synchronising literal: the client must wait for "+" and so sends none of it.
      c.send(`${tag} SEARCH TEXT {5000000}\r\n`);
      expect(await c.line()).toMatch(new RegExp(`^${tag} NO\\b.*too large`, 'i'));
      // A line with only a tag, and one over the 64 KiB line limit: untagged BAD (RFC 3501 7.1).
      c.send('lonely-tag\r\n');
      expect(await c.line()).toBe('* BAD Invalid tag');
      c.send(`${c.nextTag()} SEARCH TEXT "${'X'.repeat(70_000)}"\r\n`);
      expect(await c.line()).toBe('* BAD Command line too long');
      await stillWorks(c);
    } finally {
      await c.logout();
    }
  });

  // RFC 7888: LITERAL- is offered, so non-synchronising literals up to 4096 bytes just work.
  it('takes a non-synchronising literal without a go-ahead', async () => {
    const c = await login();
    try {
      await c.command('SELECT INBOX');
      const tag = c.nextTag();
      c.send(`${tag} UID SEARCH TEXT {5+}\r\nHELLO\r\n`);
      const first = await c.line();
      expect(first).toMatch(/^\* SEARCH\b/);
      expect(await c.line()).toMatch(new RegExp(`^${tag} OK`));
      await stillWorks(c);
    } finally {
      await c.logout();
    }
  });

  it('ends the session of a non-synchronising literal over 4096 bytes, never reading its bytes as commands', async () => {
    const before = await snapshot();
    const c = await login();
    const other = await login();
    try {
      await c.command('SELECT INBOX');
      const flood = c.nextTag();
      // What follows the refused literal would be a command if it were read as one.
      const inside = 'Z1 UID STORE 1:* +FLAGS (\\Deleted)\r\nZ2 EXPUNGE\r\n';
      c.send(`${flood} SEARCH TEXT {3000000+}\r\n${inside}${'A'.repeat(3_000_000)}\r\n`);
      const lines: string[] = [];
      while (!c.closed) lines.push(await c.line().catch(() => ''));
      expect(lines).toContain('* BYE [TOOBIG] Non-synchronizing literal too large');
      expect(lines.some((l) => l.startsWith(`${flood} NO [TOOBIG]`))).toBe(true);
      expect(lines.some((l) => /^Z\d/.test(l))).toBe(false);
      await stillWorks(other);
      expect(await snapshot()).toEqual(before);
    } finally {
      await other.logout();
      c.socket.destroy();
    }
  });

  it('refuses APPEND: TOOBIG over the limit, and a clear NO for a normal message', async () => {
    const before = await snapshot();
    const c = await login();
    try {
      const big = c.nextTag();
      c.send(`${big} APPEND INBOX {5000000}\r\n`);
      expect(await c.line()).toMatch(new RegExp(`^${big} NO \\[TOOBIG\\]`));

      const mail = 'From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n';
      const tag = c.nextTag();
      c.send(`${tag} APPEND INBOX (\\Seen) {${mail.length}}\r\n`);
      expect(await c.line()).toMatch(/^\+/);
      c.send(`${mail}\r\n`);
      const reply = await c.until(tag);
      expect(reply.status).toMatch(new RegExp(`^${tag} NO\\b`));
      expect(reply.status).toMatch(/not by IMAP APPEND/);

      const create = await c.command('CREATE Saved');
      expect(create.status).toMatch(/^\S+ NO \[CANNOT\] Voicemail folders are fixed/);
      await stillWorks(c);
    } finally {
      await c.logout();
    }
    expect(await snapshot()).toEqual(before);
  });

  it('answers NO for folders that do not exist', async () => {
    const c = await login();
    try {
      for (const command of ['SELECT Saved', 'EXAMINE "Deleted Items"', 'STATUS Nope (MESSAGES)']) {
        expect((await c.command(command)).status, command).toMatch(/^\S+ NO \[NONEXISTENT\]/);
      }
      await stillWorks(c);
    } finally {
      await c.logout();
    }
  });

  it('answers wrong codes with NO [AUTHENTICATIONFAILED] until the lockout, then refuses the right one', async () => {
    const c = await RawImap.open(server.ports.imaps, ca);
    try {
      // Policy default: the 5th wrong code in a row locks the mailbox.
      // An unknown mailbox, a wrong code and a locked mailbox all get the same answer.
      const refused = /^\S+ NO \[AUTHENTICATIONFAILED\] Wrong mailbox or code; after repeated/;
      for (let i = 1; i <= 4; i++) {
        expect((await c.command('LOGIN 202 0000')).status).toMatch(refused);
      }
      expect((await c.command('LOGIN 999 0000')).status).toMatch(refused);
      expect((await c.command('LOGIN 202 0000')).status).toMatch(refused);
      expect((await c.command('LOGIN 202 2468')).status).toMatch(refused);
      // The lockout is bob's alone.
      const other = await login();
      await other.logout();
    } finally {
      await c.logout();
    }
  });

  it('survives a client that disconnects in the middle of a 1-minute message', async () => {
    const before = await snapshot();
    const bystander = await login(); // opened before, must keep working
    await bystander.command('SELECT INBOX');
    await abandonFetch();
    try {
      await stillWorks(bystander);
      const fresh = await login();
      try {
        // The same message, whole, to a client that stays.
        const full = await fresh.command('SELECT INBOX');
        expect(full.status).toMatch(/OK/);
        const size = await fresh.command(`UID FETCH ${long.uid} (RFC822.SIZE)`);
        const bytes = Number(/RFC822\.SIZE (\d+)/.exec(size.untagged.join(' '))?.[1]);
        expect(bytes).toBeGreaterThan(1_280_000);
        const begin = fresh.received;
        const tag = fresh.nextTag();
        fresh.send(`${tag} UID FETCH ${long.uid} BODY.PEEK[]\r\n`);
        const reply = await fresh.until(tag, 10_000);
        expect(reply.status).toMatch(new RegExp(`^${tag} OK`));
        expect(fresh.received - begin).toBeGreaterThan(bytes);
      } finally {
        await fresh.logout();
      }
    } finally {
      await bystander.logout();
    }
    expect(await snapshot()).toEqual(before);
  });

  // Regression (fixed): imap-core pipes a FETCH response into the socket and waits for its end; when the client
  // goes away the pipe just stops, so the audio stream is never ended nor destroyed, its file
  // stays open until garbage collection (Node warns DEP0137 and means to throw), and the FETCH
  // hook never returns.
  it('closes the audio file of a FETCH whose client went away', async () => {
    await abandonFetch();
    await abandonFetch();
    expect(openAudioFiles()).toEqual([]);
  });
});
