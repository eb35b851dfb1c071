/**
 * `http.trustProxy`: behind a trusted reverse proxy the lockout's per-address count sees each
 * client (X-Forwarded-For), so one client's wrong codes do not refuse everyone behind the proxy,
 * and the proxy's own connections are held to limits.total, not limits.perAddress. From any
 * other address X-Forwarded-For is ignored, so a client cannot dodge its count by forging it.
 */
import { connect as connectTcp } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLoggedServer, webLogin, type LoggedServer } from '../helpers/lockout-kit.ts';

const CODE = '2468';
const WRONG = '1357';
const PROXY = '127.0.9.1';

let server: LoggedServer;
beforeAll(async () => {
  server = await startLoggedServer([
    'policy.lockout.failures=100',
    'policy.lockout.perAddressFailures=3',
    'limits.perAddress=2',
    `http.trustProxy=[${PROXY}]`,
  ]);
  await server.context.mailboxes.add({ name: 'alice' }, CODE);
});
afterAll(async () => server?.stop());

/** An open TLS connection that has completed its handshake (or was closed before). */
function openTls(localAddress: string): Promise<{ socket: TLSSocket; ok: boolean }> {
  return new Promise((resolve) => {
    const tcp = connectTcp({ host: '127.0.0.1', port: server.ports.http, localAddress });
    const socket = connect({ socket: tcp, rejectUnauthorized: false });
    socket.once('secureConnect', () => resolve({ socket, ok: true }));
    socket.once('error', () => resolve({ socket, ok: false }));
    socket.once('close', () => resolve({ socket, ok: false }));
  });
}

describe('http.trustProxy', () => {
  it("counts wrong codes per forwarded client behind the proxy, so one client's do not refuse another", async () => {
    for (let i = 0; i < 3; i++)
      expect(
        (await webLogin(server.ports.http, 'alice', WRONG, PROXY, '198.51.100.7')).status,
      ).toBe(401);
    // That client is now refused, even with the right code...
    expect((await webLogin(server.ports.http, 'alice', CODE, PROXY, '198.51.100.7')).status).toBe(
      401,
    );
    // ...while another client behind the same proxy logs in.
    expect((await webLogin(server.ports.http, 'alice', CODE, PROXY, '198.51.100.8')).status).toBe(
      200,
    );
  });

  it('ignores X-Forwarded-For from an address that is not a trusted proxy', async () => {
    const from = '127.0.9.2';
    for (let i = 0; i < 3; i++)
      expect(
        (await webLogin(server.ports.http, 'alice', WRONG, from, `203.0.113.${i + 1}`)).status,
      ).toBe(401);
    // The three forged clients were one address all along: it is refused.
    expect((await webLogin(server.ports.http, 'alice', CODE, from, '203.0.113.99')).status).toBe(
      401,
    );
  });

  it('holds the proxy to limits.total only, while any other address keeps limits.perAddress', async () => {
    const proxied = await Promise.all([1, 2, 3, 4].map(() => openTls(PROXY)));
    const other = await Promise.all([1, 2, 3].map(() => openTls('127.0.9.3')));
    try {
      expect(proxied.map((c) => c.ok)).toEqual([true, true, true, true]);
      expect(other.filter((c) => c.ok)).toHaveLength(2);
    } finally {
      for (const c of [...proxied, ...other]) c.socket.destroy();
    }
  });
});
