import { connect as tlsConnect } from 'node:tls';
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
} from './limits-kit.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(['http.tls=false', ...LIMIT_SETS]);
  await server.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
});
afterAll(async () => server.stop());

const GREETING = /^\* OK .*\r\n/;

describe('IMAP deadlines', () => {
  it('closes a connection to the TLS port that never starts its handshake', async () => {
    const peer = await connect(server.ports.imaps);
    const seconds = await peer.closed(LIMITS.handshakeSeconds * 1000 + 2000);
    expect(seconds).toBeGreaterThanOrEqual(LIMITS.handshakeSeconds - 0.1);
    expect(peer.text()).toBe('');
  });

  it('closes a STARTTLS whose handshake never comes', async () => {
    const peer = await connect(server.ports.imap);
    await peer.waitFor(GREETING);
    peer.socket.write('a STARTTLS\r\n');
    await peer.waitFor(/a OK/);
    const seconds = await peer.closed(LIMITS.handshakeSeconds * 1000 + 2000);
    expect(seconds).toBeLessThan(LIMITS.preAuthSeconds);
  });

  it('closes a client that trickles bytes without logging in at the login deadline; a logged-in one stays', async () => {
    const [trickler, loggedIn] = await Promise.all([
      connect(server.ports.imap),
      connect(server.ports.imaps, { tls: true }),
    ]);
    await trickler.waitFor(GREETING);
    await loggedIn.waitFor(GREETING);
    loggedIn.socket.write('a LOGIN 201 1234\r\n');
    await loggedIn.waitFor(/a OK/);
    // A byte every 200 ms resets imap-core's idle timer every time.
    trickle(trickler, 'a NOOP\r\n', 200);
    const seconds = await trickler.closed(LIMITS.preAuthSeconds * 1000 + 2000);
    expect(seconds).toBeGreaterThanOrEqual(LIMITS.preAuthSeconds - 0.1);
    expect(trickler.text()).toMatch(/\* BYE Login timeout\r\n$/);
    loggedIn.socket.write('b NOOP\r\n');
    await loggedIn.waitFor(/b OK/);
    loggedIn.socket.destroy();
  }, 15_000);
});

describe('IMAP connection limits', () => {
  const open: Peer[] = [];
  afterAll(() => open.forEach((p) => p.socket.destroy()));

  it('refuses the connection beyond the per-address limit, not another address', async () => {
    for (let i = 0; i < LIMITS.perAddress; i++) open.push(await connect(server.ports.imap));
    await Promise.all(open.map((p) => p.waitFor(GREETING)));
    const refused = await connect(server.ports.imap);
    await refused.closed();
    expect(refused.text()).toBe('* BYE Too many connections\r\n');

    const other = await connect(server.ports.imap, { localAddress: '127.0.0.2' });
    open.push(other);
    await other.waitFor(GREETING);
    // The TLS port counts for itself.
    const tls = await connect(server.ports.imaps, { tls: true });
    await tls.waitFor(GREETING);
    tls.socket.destroy();
  });

  it('refuses the connection beyond the total limit', async () => {
    while (open.length < LIMITS.total) {
      const peer = await connect(server.ports.imap, { localAddress: '127.0.0.3' });
      open.push(peer);
      await peer.waitFor(GREETING);
    }
    const refused = await connect(server.ports.imap, { localAddress: '127.0.0.4' });
    await refused.closed();
    expect(refused.text()).toBe('* BYE Too many connections\r\n');
    const stats = (await connectionStats(server)).imap!;
    expect(stats).toMatchObject({ active: LIMITS.total, refused: 2 });
  });

  it('accepts connections again once those are closed, STARTTLS ones too', async () => {
    // STARTTLS strips the plain socket's listeners; its close must still be counted.
    const plain = open[0]!;
    plain.socket.write('a STARTTLS\r\n');
    await plain.waitFor(/a OK/);
    const secured = tlsConnect({ socket: plain.socket, rejectUnauthorized: false });
    await new Promise((resolve) => secured.once('secureConnect', resolve));
    secured.write('b NOOP\r\n');
    await new Promise((resolve) => secured.once('data', resolve));
    secured.destroy();
    for (const peer of open.splice(0)) peer.socket.destroy();
    expect((await activeDown(server, 'imap', 0)).active).toBe(0);
    for (let i = 0; i < LIMITS.perAddress; i++) open.push(await connect(server.ports.imap));
    await Promise.all(open.map((p) => p.waitFor(GREETING)));
  });

  it('counts out a session that logs out and one whose client ends its side', async () => {
    const before = (await connectionStats(server)).imap!.active;
    const [leaving, ending] = await Promise.all([
      connect(server.ports.imap, { localAddress: '127.0.0.5' }),
      connect(server.ports.imap, { localAddress: '127.0.0.5' }),
    ]);
    await Promise.all([leaving.waitFor(GREETING), ending.waitFor(GREETING)]);
    expect((await connectionStats(server)).imap!.active).toBe(before + 2);
    leaving.socket.write('a LOGOUT\r\n');
    await leaving.closed();
    expect(leaving.text()).toMatch(/a OK/);
    ending.socket.write('a NOOP\r\n');
    await ending.waitFor(/a OK/);
    ending.socket.end();
    await ending.closed();
    expect((await activeDown(server, 'imap', before)).active).toBe(before);
    // Both places are free again (the total limit would refuse one of these otherwise).
    expect(before + 2 + 2).toBeGreaterThan(LIMITS.total);
    const again = await Promise.all(
      [1, 2].map(() => connect(server.ports.imap, { localAddress: '127.0.0.5' })),
    );
    await Promise.all(again.map((p) => p.waitFor(GREETING)));
    again.forEach((p) => p.socket.destroy());
  });
});
