import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newNonce, signSync, type SignedFacts } from '../../server/domain/peer-trust.ts';
import type { RunningServer } from '../../server/server.ts';
import { signedBody, stateBody, syncMail, voicemailBody } from '../../server/peers/sync-mail.ts';
import { wav } from '../mail/mail-helpers.ts';
import { peer, SECRET, startNode } from './peers-kit.ts';

/** The central's SMTP listener takes sync mail only signed by a configured peer, over TLS. */
let dir: string;
let central: RunningServer;
let audio: Buffer;
let ca: string;
const OTHER_SECRET = '0b1e2d3c4f5a69788796a5b4c3d2e1f0';
const BACKUP_SECRET = '5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-trust-'));
  central = await startNode(join(dir, 'central'), [
    'server.name=central',
    'server.role=central',
    `topology.distributed=[${peer({ name: 'site1', smtp: '127.0.0.1:9' })},${peer({ name: 'site2', smtp: '127.0.0.1:9', secret: OTHER_SECRET })}]`,
    `topology.backup=${peer({ name: 'standby', smtp: '127.0.0.1:9', secret: BACKUP_SECRET })}`,
  ]);
  await central.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  audio = wav(dir, 1);
  ca = readFileSync(join(dir, 'central', 'tls', 'cert.pem'), 'utf8');
});

afterAll(async () => {
  await central?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Mail {
  peer?: string;
  secret?: string;
  timestamp?: number;
  identity?: string;
  mailbox?: string;
  /** Changes the body after signing. */
  tamper?: (body: Buffer) => Buffer;
}

let serial = 0;
function mail(m: Mail = {}): { raw: Buffer; identity: string } {
  const identity = m.identity ?? `01JTRUST${String(++serial).padStart(18, '0')}@site1`;
  const facts: SignedFacts = {
    peer: m.peer ?? 'site1',
    to: 'vmsyncmaster',
    kind: 'voicemail',
    messageId: identity,
    timestamp: m.timestamp ?? Date.now(),
    nonce: newNonce(),
  };
  const { body, contentType } = voicemailBody(
    {
      mailbox: m.mailbox ?? 'alice',
      callerNumber: '5551234',
      callerName: 'Bob',
      receivedAt: Date.now() - 60_000,
      priority: 'normal',
      private: false,
    },
    audio,
  );
  const signature = signSync(m.secret ?? SECRET, facts, signedBody(body));
  const sent = m.tamper ? m.tamper(body) : body;
  const raw = syncMail(
    { ...facts, from: 'vmsyncslave@voicegate.local', toAddress: 'vmsyncmaster@voicegate.local' },
    signature,
    contentType,
    sent,
  );
  return { raw, identity };
}

async function send(
  raw: Buffer,
  opts: { tls?: boolean } = {},
): Promise<{ ok: true; response: string } | { ok: false; code: number; response: string }> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: central.ports.smtp,
    requireTLS: opts.tls !== false,
    ignoreTLS: opts.tls === false,
    tls: { ca },
  });
  try {
    const info = await transport.sendMail({
      envelope: { from: 'vmsyncslave@voicegate.local', to: ['vmsyncmaster@voicegate.local'] },
      raw,
    });
    return { ok: true, response: info.response };
  } catch (err) {
    const e = err as { responseCode?: number; response?: string; message: string };
    return { ok: false, code: e.responseCode ?? 0, response: e.response ?? e.message };
  } finally {
    transport.close();
  }
}

async function stored(identity: string): Promise<number> {
  const alice = await central.context.store.findMailbox('alice');
  const all = await central.context.store.listMessages(alice!.id);
  return all.filter((m) => m.identity === identity).length;
}

describe('sync mail to the central', () => {
  it('takes a signed voicemail from a configured peer over TLS, with its caller and time', async () => {
    const { raw, identity } = mail();
    const result = await send(raw);
    expect(result).toMatchObject({ ok: true, response: expect.stringMatching(/^250 .*stored/) });
    const alice = await central.context.store.findMailbox('alice');
    const [m] = (await central.context.store.listMessages(alice!.id)).filter(
      (x) => x.identity === identity,
    );
    expect(m).toMatchObject({ callerNumber: '5551234', callerName: 'Bob', originServer: 'site1' });
  });

  it('refuses the same mail sent again (a replay), and stores it once', async () => {
    const { raw, identity } = mail();
    expect((await send(raw)).ok).toBe(true);
    const again = await send(raw);
    expect(again).toMatchObject({ ok: false, code: 535 });
    expect(again.response).toMatch(/received before \(a replay\)/);
    expect(await stored(identity)).toBe(1);
  });

  it('refuses a mail signed with another secret (forged), and stores nothing', async () => {
    const { raw, identity } = mail({ secret: 'not-the-secret-at-all-0123456789' });
    const result = await send(raw);
    expect(result).toMatchObject({ ok: false, code: 535 });
    expect(result.response).toMatch(/signature does not match/);
    expect(await stored(identity)).toBe(0);
  });

  it("refuses a peer signing as another (site2's secret, site1's name)", async () => {
    const { raw, identity } = mail({ secret: OTHER_SECRET });
    expect(await send(raw)).toMatchObject({ ok: false, code: 535 });
    expect(await stored(identity)).toBe(0);
  });

  it('refuses a mail changed after it was signed', async () => {
    const { raw, identity } = mail({
      tamper: (body) =>
        Buffer.from(body.toString('latin1').replace('"alice"', '"alicf"'), 'latin1'),
    });
    expect(await send(raw)).toMatchObject({ ok: false, code: 535 });
    expect(await stored(identity)).toBe(0);
  });

  it('refuses a server that is not a configured peer', async () => {
    const { raw } = mail({ peer: 'intruder' });
    const result = await send(raw);
    expect(result).toMatchObject({ ok: false, code: 535 });
    expect(result.response).toMatch(/"intruder" is not a configured peer/);
  });

  it('refuses an unsigned voicemail mail', async () => {
    const raw = Buffer.from(
      'From: <x@example.com>\r\nTo: <vmsyncmaster@voicegate.local>\r\nMessage-ID: <1@x>\r\n' +
        'Subject: hi\r\n\r\nhello\r\n',
    );
    const result = await send(raw);
    expect(result).toMatchObject({ ok: false, code: 535 });
    expect(result.response).toMatch(/no x-voicegate-peer header/);
  });

  it('refuses a signed mail from long ago (a replay after the nonce is forgotten)', async () => {
    const { raw } = mail({ timestamp: Date.now() - 3_600_000 });
    const result = await send(raw);
    expect(result).toMatchObject({ ok: false, code: 535 });
    expect(result.response).toMatch(/more than 5 minutes/);
  });

  /** A signed state change of `identity` from `from`, deleting it (purging too, if asked). */
  function stateMail(identity: string, from: string, secret: string, purged = false): Buffer {
    const facts: SignedFacts = {
      peer: from,
      to: 'vmsyncmaster',
      kind: 'state',
      messageId: identity,
      timestamp: Date.now(),
      nonce: newNonce(),
    };
    const { body, contentType } = stateBody({
      mailbox: 'alice',
      state: 'deleted',
      deletedFrom: 'new',
      changedAt: Date.now(),
      server: from,
      ...(purged ? { purged: true } : {}),
    });
    return syncMail(
      { ...facts, from: 'vmsyncslave@voicegate.local', toAddress: 'vmsyncmaster@voicegate.local' },
      signSync(secret, facts, signedBody(body)),
      contentType,
      body,
    );
  }

  async function stateOf(identity: string): Promise<string | undefined> {
    const alice = await central.context.store.findMailbox('alice');
    const all = await central.context.store.listMessages(alice!.id, {
      states: ['new', 'old', 'saved', 'deleted'],
    });
    return all.find((x) => x.identity === identity)?.state;
  }

  it('refuses a state change from a distributed server (only a backup hands back states)', async () => {
    const { raw, identity } = mail();
    expect((await send(raw)).ok).toBe(true);
    const result = await send(stateMail(identity, 'site1', SECRET));
    expect(result).toMatchObject({ ok: false, code: 550 });
    expect(result.response).toMatch(/site1 sends no state changes here/);
    expect(await stateOf(identity)).toBe('new');
  });

  it("takes a backup's delete but never its purge of the central's voicemail", async () => {
    const { raw, identity } = mail();
    expect((await send(raw)).ok).toBe(true);
    const purge = await send(stateMail(identity, 'standby', BACKUP_SECRET, true));
    expect(purge).toMatchObject({ ok: false, code: 550 });
    expect(purge.response).toMatch(/standby is a backup and cannot purge/);
    expect(await stateOf(identity)).toBe('new');
    // The same change without the purge is merged: a delete, kept in the deleted folder.
    expect((await send(stateMail(identity, 'standby', BACKUP_SECRET))).ok).toBe(true);
    expect(await stateOf(identity)).toBe('deleted');
  });

  it('refuses sync mail without STARTTLS at RCPT', async () => {
    const result = await send(mail().raw, { tls: false });
    expect(result).toMatchObject({ ok: false, code: 530 });
    expect(result.response).toMatch(/needs TLS/);
  });

  it('refuses a mailbox in the same mail as a sync address', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: central.ports.smtp,
      requireTLS: true,
      tls: { ca },
    });
    const info = await transport.sendMail({
      envelope: {
        from: 'vmsyncslave@voicegate.local',
        to: ['vmsyncmaster@voicegate.local', 'alice@voicegate.local'],
      },
      raw: mail().raw,
    });
    transport.close();
    expect(info.rejected).toEqual(['alice@voicegate.local']);
    expect(info.rejectedErrors?.[0]?.message).toMatch(/550 sync mail goes alone/);
  });
});
