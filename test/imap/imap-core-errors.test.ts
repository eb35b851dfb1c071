import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type WatchedServer } from '../helpers/test-server.ts';
import { RawImap } from './fixtures/clients-raw-imap.ts';

let server: WatchedServer;
beforeAll(async () => {
  server = await startTestServer([], { watchLogs: true });
  await server.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
});
afterAll(async () => server?.stop());

it('logs a failed TLS handshake on the IMAPS port as a connection error, and keeps serving', async () => {
  const socket = connect(server.ports.imaps, '127.0.0.1');
  socket.on('error', () => {});
  socket.write('GET / HTTP/1.0\r\n\r\n');
  const entry = await server.logs.next('imap connection error');
  const report = entry.report as Record<string, unknown>;
  expect(report).toMatchObject({ _code: 'ERR_SSL_HTTP_REQUEST', _ip: '127.0.0.1' });
  expect(report.short_message).toMatch(/^IMAP \[Exception\] .*http request/);
  socket.destroy();

  const ca = readFileSync(join(server.dir, 'tls', 'cert.pem'));
  const c = await RawImap.login(server.ports.imaps, ca, '201', '1234');
  await c.logout();
});

it("does not load WildDuck's Gelf reporting and Prometheus metrics, which imap-core alone needs not", () => {
  const loaded = Object.keys(createRequire(import.meta.url).cache);
  expect(loaded.some((f) => f.includes('/@zone-eu/wildduck/imap-core/'))).toBe(true);
  expect(loaded.filter((f) => /\/@zone-eu\/wildduck\/lib\/|\/(npmlog|gelf)\//.test(f))).toEqual([]);
});
