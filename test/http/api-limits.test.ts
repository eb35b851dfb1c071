import { readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ensureSelfSignedCert } from '../../server/config/tls-cert.ts';
import { buildApp } from '../../server/http/app.ts';
import { createLogger } from '../../server/log.ts';
import { apiApp } from '../helpers/api-app.ts';
import { makeTempDir } from '../helpers/temp-data.ts';

const TEN_MB = 10 * 1024 * 1024;

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/**
 * Sends the head of a 10 MB upload and one 64 KB chunk, then waits: the reply must come while
 * almost all of the body is still unsent, so the server decided without reading it.
 */
async function startUpload(port: number, headers: Record<string, string>) {
  const socket = connect(port, '127.0.0.1');
  cleanup.push(async () => void socket.destroy());
  const head = [
    'PUT /api/greetings/unavailable HTTP/1.1',
    'Host: 127.0.0.1',
    'Content-Type: audio/wav',
    `Content-Length: ${TEN_MB}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    '',
    '',
  ].join('\r\n');
  let sent = 0;
  socket.write(head);
  const chunk = Buffer.alloc(64 * 1024, 1);
  socket.write(chunk);
  sent += chunk.length;
  const reply = await new Promise<string>((resolve, reject) => {
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (/\r\n\r\n[\s\S]*\}/.test(text)) resolve(text);
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed without a reply: ${text}`)));
  });
  return { reply, sent };
}

describe('request bodies', () => {
  it('refuses an unauthenticated 10 MB upload before reading its body', async () => {
    const t = await apiApp();
    cleanup.push(() => t.close());
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (t.app.server.address() as { port: number }).port;
    const { reply, sent } = await startUpload(port, {});
    expect(reply).toMatch(/^HTTP\/1\.1 401 /);
    expect(reply).toContain('"UNAUTHENTICATED"');
    expect(sent).toBeLessThan(TEN_MB / 100);
  });

  it('refuses an upload without the CSRF token before reading its body', async () => {
    const t = await apiApp();
    cleanup.push(() => t.close());
    await t.ctx.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
    const { headers } = await t.login('alice', '1234');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (t.app.server.address() as { port: number }).port;
    const { reply, sent } = await startUpload(port, headers);
    expect(reply).toMatch(/^HTTP\/1\.1 403 /);
    expect(sent).toBeLessThan(TEN_MB / 100);
  });

  it('limits JSON bodies to 64 KB', async () => {
    const t = await apiApp();
    cleanup.push(() => t.close());
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/login',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ mailbox: 'alice', code: 'x'.repeat(70 * 1024) }),
    });
    expect(res.statusCode).toBe(413);
  });
});

describe('Strict-Transport-Security', () => {
  const build = async (tls: boolean): Promise<FastifyInstance> => {
    const dir = makeTempDir();
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    if (tls) await ensureSelfSignedCert(cert, key, 'localhost');
    const app = await buildApp({
      log: createLogger('silent'),
      version: 'test',
      readiness: async () => null,
      ...(tls ? { https: { key: readFileSync(key), cert: readFileSync(cert) } } : {}),
    });
    cleanup.push(() => app.close());
    return app;
  };

  it('is sent on every response under TLS', async () => {
    const app = await build(true);
    for (const url of ['/healthz', '/api/version', '/no/such/page']) {
      const res = await app.inject(url);
      expect(res.headers['strict-transport-security'], url).toBe('max-age=31536000');
    }
  });

  it('is not sent over plain HTTP (behind a proxy)', async () => {
    const app = await build(false);
    expect((await app.inject('/healthz')).headers['strict-transport-security']).toBeUndefined();
  });
});
