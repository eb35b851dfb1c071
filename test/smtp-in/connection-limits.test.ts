import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import {
  activeDown,
  connect,
  connectionStats,
  LIMIT_SETS,
  LIMITS,
  trickle,
  type Peer,
} from '../imap/limits-kit.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(['http.tls=false', ...LIMIT_SETS]);
});
afterAll(async () => server.stop());

const GREETING = /^220 .*\r\n/;

describe('SMTP deadlines', () => {
  it('closes a session that trickles commands at the session deadline', async () => {
    const peer = await connect(server.ports.smtp);
    await peer.waitFor(GREETING);
    // A byte every 200 ms resets smtp-server's idle timer every time.
    trickle(peer, 'NOOP\r\n', 200);
    const seconds = await peer.closed(LIMITS.preAuthSeconds * 1000 + 2000);
    expect(seconds).toBeGreaterThanOrEqual(LIMITS.preAuthSeconds - 0.1);
    expect(peer.text()).toMatch(/421 Timeout - closing connection\r\n$/);
  }, 15_000);

  it('closes a STARTTLS whose handshake never comes', async () => {
    const peer = await connect(server.ports.smtp);
    await peer.waitFor(GREETING);
    peer.socket.write('EHLO client.example\r\n');
    await peer.waitFor(/250 .*\r\n$/);
    peer.socket.write('STARTTLS\r\n');
    await peer.waitFor(/220 Ready to start TLS\r\n/);
    const seconds = await peer.closed(LIMITS.handshakeSeconds * 1000 + 2000);
    expect(seconds).toBeLessThan(LIMITS.preAuthSeconds);
  });
});

describe('SMTP connection limits', () => {
  const open: Peer[] = [];
  afterAll(() => open.forEach((p) => p.socket.destroy()));
  const TOO_MANY = /^421 voicegate\.local Too many connections, try again later\r\n$/;

  it('refuses the connection beyond the per-address limit with 421, not another address', async () => {
    for (let i = 0; i < LIMITS.perAddress; i++) open.push(await connect(server.ports.smtp));
    await Promise.all(open.map((p) => p.waitFor(GREETING)));
    const refused = await connect(server.ports.smtp);
    await refused.closed();
    expect(refused.text()).toMatch(TOO_MANY);
    const other = await connect(server.ports.smtp, { localAddress: '127.0.0.2' });
    open.push(other);
    await other.waitFor(GREETING);
  });

  it('refuses the connection beyond the total limit', async () => {
    while (open.length < LIMITS.total) {
      const peer = await connect(server.ports.smtp, { localAddress: '127.0.0.3' });
      open.push(peer);
      await peer.waitFor(GREETING);
    }
    const refused = await connect(server.ports.smtp, { localAddress: '127.0.0.4' });
    await refused.closed();
    expect(refused.text()).toMatch(TOO_MANY);
    expect((await connectionStats(server)).smtp).toMatchObject({
      active: LIMITS.total,
      refused: 2,
    });
  });

  it('accepts connections again once those are closed', async () => {
    for (const peer of open.splice(0)) peer.socket.destroy();
    expect((await activeDown(server, 'smtp', 0)).active).toBe(0);
    for (let i = 0; i < LIMITS.perAddress; i++) open.push(await connect(server.ports.smtp));
    await Promise.all(open.map((p) => p.waitFor(GREETING)));
  });
});
