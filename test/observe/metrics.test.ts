import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../../server/domain/audit.ts';
import { toneWav } from '../../server/media/tone.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

const run = promisify(execFile);
const PROMTOOL = '/usr/bin/promtool';
const TOKEN = 'scrape-token-7f3a9c1e5b';
const CODE = '864209';
const ADMIN_PASSWORD = 'admin-pass-5d2e8b41';

/** The value of one sample in Prometheus' text format (the line `name{labels} value`). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (!line) throw new Error(`no sample ${series} in:\n${text}`);
  return Number(line.slice(series.length + 1));
}

/** `promtool check metrics` (Debian's prometheus package) on the text, as Prometheus would read it. */
async function promtoolCheck(text: string, dir: string): Promise<string> {
  if (!existsSync(PROMTOOL))
    throw new Error(`${PROMTOOL} is missing: run scripts/install-test-tools.sh (prometheus)`);
  const file = join(dir, 'metrics.txt');
  writeFileSync(file, text);
  const { stdout, stderr } = await run('sh', ['-c', `${PROMTOOL} check metrics < "${file}"`]);
  return stdout + stderr;
}

describe('/metrics on the web port, behind the token', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(['metrics.enabled=true', `metrics.token=${TOKEN}`]);
    await server.context.mailboxes.add({ name: 'Alice', extension: '201', umsAccess: true }, CODE);
    await server.context.admins.add('opsadmin', ADMIN_PASSWORD, CLI_ACTOR);
  });
  afterAll(async () => server?.stop());

  const scrape = (authorization?: string) =>
    server.http.inject({
      method: 'GET',
      url: '/metrics',
      headers: authorization ? { authorization } : {},
    });

  it('is refused without the token or with a wrong one', async () => {
    for (const auth of [undefined, 'Bearer wrong-token-0000000000', `Basic ${TOKEN}`]) {
      const res = await scrape(auth);
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics"');
      expect(res.body).not.toContain('voicegate_');
    }
  });

  it('counts real traffic (an IMAP session, web and admin log-ins, a mail deposit) in text promtool accepts', async () => {
    const imap = new ImapFlow({
      host: '127.0.0.1',
      port: server.ports.imaps,
      secure: true,
      tls: { rejectUnauthorized: false },
      auth: { user: '201', pass: CODE },
      logger: false,
    });
    await imap.connect();
    const wrong = await server.http.inject({
      method: 'POST',
      url: '/api/login',
      payload: { mailbox: '201', code: '000000' },
    });
    expect(wrong.statusCode).toBe(401);
    const mailer = nodemailer.createTransport({
      host: '127.0.0.1',
      port: server.ports.smtp,
      requireTLS: true,
      tls: { ca: readFileSync(join(server.dir, 'tls', 'cert.pem')) },
    });
    await mailer.sendMail({
      from: '"Dana Doe" <5553001@pbx.example>',
      to: '201@voicegate.local',
      subject: 'Voice message',
      text: 'A voice message is attached.',
      attachments: [
        { filename: 'message.wav', content: Buffer.from(toneWav({ seconds: 1, frequency: 660 })) },
      ],
    });
    mailer.close();
    // The owner logs in on the web too, and an administrator after a wrong password.
    const web = await server.http.inject({
      method: 'POST',
      url: '/api/login',
      payload: { mailbox: '201', code: CODE },
    });
    expect(web.statusCode).toBe(200);
    for (const [password, status] of [
      ['not-the-password-00', 401],
      [ADMIN_PASSWORD, 200],
    ] as const) {
      const admin = await server.http.inject({
        method: 'POST',
        url: '/api/admin/login',
        payload: { name: 'opsadmin', password },
      });
      expect(admin.statusCode).toBe(status);
    }

    const res = await scrape(`Bearer ${TOKEN}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    expect(await promtoolCheck(text, server.dir)).toBe('');

    expect(sample(text, 'voicegate_logins_total{channel="imap",outcome="ok"}')).toBe(1);
    expect(sample(text, 'voicegate_logins_total{channel="web",outcome="failed"}')).toBe(1);
    expect(sample(text, 'voicegate_logins_total{channel="web",outcome="ok"}')).toBe(1);
    expect(sample(text, 'voicegate_logins_total{channel="admin",outcome="ok"}')).toBe(1);
    expect(sample(text, 'voicegate_logins_total{channel="admin",outcome="failed"}')).toBe(1);
    expect(sample(text, 'voicegate_lockouts_total{channel="admin"}')).toBe(0);
    expect(sample(text, 'voicegate_web_sessions{principal="mailbox"}')).toBe(1);
    expect(sample(text, 'voicegate_web_sessions{principal="admin"}')).toBe(1);
    expect(sample(text, 'voicegate_lockouts_total{channel="web"}')).toBe(0);
    expect(sample(text, 'voicegate_lockouts_total{channel="imap"}')).toBe(0);
    expect(sample(text, 'voicegate_deposits_total{channel="smtp"}')).toBe(1);
    expect(sample(text, 'voicegate_connections{listener="imaps"}')).toBe(1);
    expect(sample(text, 'voicegate_calls_in_progress')).toBe(0);
    expect(sample(text, 'voicegate_calls_total{outcome="accepted"}')).toBe(0);
    expect(sample(text, 'voicegate_queue_items{target="smtp",status="pending"}')).toBe(0);
    expect(sample(text, 'voicegate_queue_oldest_age_seconds')).toBe(0);
    expect(sample(text, 'voicegate_disk_free_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'voicegate_store_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'voicegate_alarm_active{kind="delivery-failing"}')).toBe(0);
    expect(sample(text, 'voicegate_rtp_lateness_seconds_bucket{le="+Inf"}')).toBeGreaterThanOrEqual(
      0,
    );
    expect(sample(text, 'voicegate_sse_clients')).toBe(0);
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    // Nothing that names a mailbox, a caller or a secret.
    for (const secret of [
      CODE,
      '000000',
      TOKEN,
      'Alice',
      '5553001',
      'Dana',
      ADMIN_PASSWORD,
      'opsadmin',
    ])
      if (secret === CODE || secret === '000000')
        // A code as a value of its own, not digits inside a sample's number (0.0407000000954).
        expect(text).not.toMatch(new RegExp(`(?<![\\d.])${secret}(?![\\d])`));
      else expect(text).not.toContain(secret);
    await imap.logout();
  });

  it('counts a lockout once, on the channel of the wrong code that caused it', async () => {
    await server.context.mailboxes.add({ name: 'Bob', extension: '202', umsAccess: true }, CODE);
    for (let i = 0; i < 6; i++) {
      const res = await server.http.inject({
        method: 'POST',
        url: '/api/login',
        payload: { mailbox: '202', code: '111111' },
      });
      expect(res.statusCode).toBe(401);
    }
    const text = (await scrape(`Bearer ${TOKEN}`)).body;
    expect(sample(text, 'voicegate_lockouts_total{channel="web"}')).toBe(1);
    // Five wrong codes failed (the fifth locked the mailbox); the sixth met the lock.
    expect(sample(text, 'voicegate_logins_total{channel="web",outcome="failed"}')).toBe(6);
    expect(sample(text, 'voicegate_logins_total{channel="web",outcome="refused"}')).toBe(1);
  });
});

describe('/metrics on a port of its own', () => {
  it('is refused at start on the web port without a token worth the name', async () => {
    await expect(startTestServer(['metrics.enabled=true', 'metrics.token=short'])).rejects.toThrow(
      /metrics\.token.*16 characters/,
    );
  });

  it('serves without a token there, and not on the web port', async () => {
    const server = await startTestServer(['metrics.enabled=true', 'metrics.listen.port=0']);
    try {
      expect(server.ports.metrics).toBeGreaterThan(0);
      const body = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        request({ host: '127.0.0.1', port: server.ports.metrics, path: '/metrics' }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        })
          .on('error', reject)
          .end();
      });
      expect(body.status).toBe(200);
      expect(sample(body.text, 'voicegate_sse_clients')).toBe(0);
      const web = await server.http.inject({ method: 'GET', url: '/metrics' });
      expect(web.statusCode).toBe(404);
    } finally {
      await server.stop();
    }
  });
});
