import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueItem } from '../../server/domain/delivery.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { makeCert, mailServers, parse, until, wav } from './mail-helpers.ts';
import { SmtpRecorder } from './smtp-recorder.ts';

/**
 * TLS modes and authentication. One Voicegate server, several SMTP servers; each case is a
 * `mail.servers` entry serving its own recipient domain, so all cases run side by side.
 */
let dir: string;
let server: TestServer;
let implicit: SmtpRecorder;
let plain: SmtpRecorder;
let untrusted: SmtpRecorder;
let withAuth: SmtpRecorder;
let stripped: SmtpRecorder;
let alice: number;
let messageId: string;
const AUTH = { user: 'vg-relay', password: 's3cret pass' };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-mail-tls-'));
  const trusted = await makeCert(dir, 'trusted');
  // A certificate the config does not trust: the TLS handshake fails.
  const stranger = await makeCert(dir, 'stranger');
  implicit = await SmtpRecorder.start({ tls: 'implicit', cert: trusted });
  plain = await SmtpRecorder.start({ tls: 'none' });
  untrusted = await SmtpRecorder.start({ tls: 'starttls', cert: stranger });
  withAuth = await SmtpRecorder.start({ tls: 'starttls', cert: trusted, auth: AUTH });
  // TLS that fails, and AUTH offered in plain text: what a man in the middle would set up.
  stripped = await SmtpRecorder.start({
    tls: 'starttls',
    cert: stranger,
    auth: AUTH,
    insecureAuth: true,
  });
  const authEntry = (domain: string, authMethod: string, password = AUTH.password) => ({
    port: withAuth.port,
    tls: 'starttls',
    caFile: trusted.caFile,
    user: AUTH.user,
    password,
    authMethod,
    domains: [domain],
  });
  server = await startTestServer([
    mailServers([
      { port: implicit.port, tls: 'implicit', caFile: trusted.caFile },
      { port: plain.port, tls: 'starttls', caFile: trusted.caFile, domains: ['need-tls.test'] },
      { port: untrusted.port, plaintextFallback: true, domains: ['fallback.test'] },
      { port: untrusted.port, plaintextFallback: false, domains: ['no-fallback.test'] },
      authEntry('plain.test', 'PLAIN'),
      authEntry('login.test', 'LOGIN'),
      authEntry('cram.test', 'CRAM-MD5'),
      authEntry('wrong.test', 'PLAIN', 'not the password'),
      {
        port: stripped.port,
        tls: 'opportunistic',
        plaintextFallback: true,
        user: AUTH.user,
        password: AUTH.password,
        domains: ['fallback-auth.test'],
      },
    ]),
  ]);
  const box = await server.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  alice = box.id;
  const [m] = await server.context.messages.deposit({
    mailbox: '201',
    audio: wav(dir, 2),
    callerNumber: '+3312345678',
  });
  messageId = m!.id;
  for (const to of [
    'a@implicit.test',
    'a@need-tls.test',
    'a@fallback.test',
    'a@no-fallback.test',
    'a@plain.test',
    'a@login.test',
    'a@cram.test',
    'a@wrong.test',
    'a@fallback-auth.test',
  ])
    await server.context.messages.forwardToEmail(alice, messageId, to);
  // Every mail has been tried once: sent, or waiting with an error.
  await until(
    async () =>
      (await server.context.deliveries.list()).every(
        (m) => m.attempts > 0 || m.status === 'failed',
      ),
    10_000,
    'each mail to be tried',
  );
}, 30_000);

afterAll(async () => {
  await server?.stop();
  for (const r of [implicit, plain, untrusted, withAuth, stripped]) await r?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function queued(to: string): Promise<QueueItem | undefined> {
  return (await server.context.deliveries.list()).find((m) => m.recipient === to);
}

describe('TLS modes', () => {
  it('implicit TLS to a TLS server, trusting its certificate with caFile', async () => {
    expect(implicit.mails).toHaveLength(1);
    expect(implicit.mails[0]).toMatchObject({ to: ['a@implicit.test'], secure: true });
    expect((await parse(implicit.mails[0]!.raw)).attachments).toHaveLength(1);
    expect(await queued('a@implicit.test')).toBeUndefined();
  });

  it('starttls against a server without STARTTLS: deferred, never sent in plain text', async () => {
    // Regression (fixed): the server's 500 to STARTTLS is taken for a permanent refusal of the mail (bounce).
    expect(plain.connections).toBeGreaterThan(0);
    expect(plain.mails).toEqual([]);
    expect(await queued('a@need-tls.test')).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: expect.any(String),
    });
  });

  it('opportunistic with plaintextFallback: a failed TLS handshake falls back to plain text', async () => {
    const mails = untrusted.mails.filter((m) => m.to[0] === 'a@fallback.test');
    expect(mails).toHaveLength(1);
    expect(mails[0]!.secure).toBe(false);
    expect(await queued('a@fallback.test')).toBeUndefined();
  });

  it('the plain-text fallback never sends the SMTP password without TLS', async () => {
    expect(stripped.connections).toBeGreaterThan(0);
    // Regression (fixed): the fallback reconnects with ignoreTLS and the same credentials.
    expect(stripped.logins.filter((l) => !l.secure)).toEqual([]);
  });

  it('opportunistic without plaintextFallback: a failed TLS handshake sends nothing', async () => {
    expect(untrusted.mails.filter((m) => m.to[0] === 'a@no-fallback.test')).toEqual([]);
    expect(await queued('a@no-fallback.test')).toMatchObject({ status: 'pending', attempts: 1 });
  });
});

describe('SMTP authentication', () => {
  it('logs in with PLAIN, LOGIN and CRAM-MD5 (after STARTTLS) and sends', async () => {
    const byTo = new Map(withAuth.mails.map((m) => [m.to[0], m]));
    for (const [to, method] of [
      ['a@plain.test', 'PLAIN'],
      ['a@login.test', 'LOGIN'],
      ['a@cram.test', 'CRAM-MD5'],
    ] as const) {
      expect(byTo.get(to)).toMatchObject({ secure: true, user: AUTH.user, authMethod: method });
      expect(await queued(to)).toBeUndefined();
    }
  });

  it('a wrong password defers the mail: it is not a permanent failure', async () => {
    expect(withAuth.logins).toContainEqual({
      method: 'PLAIN',
      user: AUTH.user,
      ok: false,
      secure: true,
    });
    expect(withAuth.mails.filter((m) => m.to[0] === 'a@wrong.test')).toEqual([]);
    const item = await queued('a@wrong.test');
    expect(item).toMatchObject({ status: 'pending', attempts: 1 });
    expect(item!.lastError).toMatch(/535/);
    // The mailbox's message is untouched.
    expect(await server.context.messages.get(alice, messageId)).toMatchObject({ state: 'new' });
  });
});
