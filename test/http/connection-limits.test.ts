import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
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
let cookie: string;
beforeAll(async () => {
  server = await startTestServer(LIMIT_SETS);
  await server.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  cookie = await new Promise<string>((resolve, reject) => {
    const req = request(
      new URL('/api/login', server.urls.http),
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        localAddress: '127.0.0.99',
        rejectUnauthorized: false,
        agent: false,
      },
      (res) => {
        res.resume();
        resolve(String(res.headers['set-cookie']).split(';')[0]!);
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ mailbox: 'alice', code: '1234' }));
  });
});
afterAll(async () => server.stop());

/** A logged-in page's event stream, on a TLS connection of its own. */
async function eventStream(localAddress = '127.0.0.1'): Promise<Peer> {
  const peer = await connect(server.ports.http, { tls: true, localAddress });
  peer.socket.write(`GET /api/events HTTP/1.1\r\nHost: localhost\r\nCookie: ${cookie}\r\n\r\n`);
  await peer.waitFor(/retry: 2000\n\n/);
  return peer;
}

describe('HTTPS deadlines', () => {
  it('closes a connection that never starts its TLS handshake', async () => {
    const peer = await connect(server.ports.http);
    const seconds = await peer.closed(LIMITS.handshakeSeconds * 1000 + 2000);
    expect(seconds).toBeGreaterThanOrEqual(LIMITS.handshakeSeconds - 0.1);
  });

  it('closes a connection that finishes its handshake and then says nothing', async () => {
    const peer = await connect(server.ports.http, { tls: true });
    const seconds = await peer.closed(LIMITS.handshakeSeconds * 1000 + 3000);
    expect(seconds).toBeLessThan(LIMITS.preAuthSeconds);
  });

  it('cuts a slowloris that sends its headers a byte at a time; an event stream stays open', async () => {
    const stream = await eventStream();
    const peer = await connect(server.ports.http, { tls: true });
    peer.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n');
    trickle(peer, 'X-Slow: yes\r\n', 200);
    // Headers are due within handshakeSeconds; Node looks once a second.
    const seconds = await peer.closed(LIMITS.handshakeSeconds * 1000 + 3000);
    expect(seconds).toBeLessThan(LIMITS.preAuthSeconds);

    // Past every deadline, the stream still delivers.
    await new Promise((r) => setTimeout(r, (LIMITS.preAuthSeconds + 1) * 1000));
    expect(stream.isClosed()).toBe(false);
    await server.context.messages.deposit({
      mailbox: '201',
      audio: toneWav({ seconds: 1 }),
      callerNumber: '5550001',
    });
    await stream.waitFor(/event: change/);
    stream.socket.destroy();
  }, 20_000);
});

describe('HTTPS connection limits', () => {
  const open: Peer[] = [];
  afterAll(() => open.forEach((p) => p.socket.destroy()));

  /** A refused connection is closed at once, long before the handshake deadline. */
  async function expectRefused(localAddress: string): Promise<void> {
    const peer = await connect(server.ports.http, { localAddress });
    expect(await peer.closed()).toBeLessThan(LIMITS.handshakeSeconds / 2);
  }

  it('refuses the connection beyond the per-address limit, not another address', async () => {
    for (let i = 0; i < LIMITS.perAddress; i++) open.push(await eventStream());
    await expectRefused('127.0.0.1');
    open.push(await eventStream('127.0.0.2'));
  });

  it('refuses the connection beyond the total limit', async () => {
    while (open.length < LIMITS.total) open.push(await eventStream('127.0.0.3'));
    await expectRefused('127.0.0.4');
  });

  it('accepts connections again once those are closed, and counts the refused', async () => {
    for (const peer of open.splice(0)) peer.socket.destroy();
    // The question itself is a connection (refused too while the listener is still full).
    const { refused } = await activeDown(server, 'http', 1);
    expect(refused).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < LIMITS.perAddress; i++) open.push(await eventStream());
    const all = await connectionStats(server);
    expect(all.http!.refused).toBe(refused);
    expect(Object.keys(all).sort()).toEqual(['http', 'imap', 'imaps', 'sip', 'smtp']);
  });
});
