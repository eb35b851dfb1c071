import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { clientOf, ConnectionLimits } from '../../server/net/connection-limits.ts';
import { connect } from '../imap/limits-kit.ts';

const CONFIG = { perAddress: 2, total: 100, handshakeSeconds: 1, preAuthSeconds: 5 };

let server: Server | undefined;
afterEach(
  () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
);

/** A listener that says hello, behind the limits; `accepted` holds its server-side sockets. */
async function listener(): Promise<{
  port: number;
  limits: ConnectionLimits;
  logs: object[];
  accepted: Socket[];
}> {
  const logs: object[] = [];
  const accepted: Socket[] = [];
  const limits = new ConnectionLimits('test', CONFIG, { warn: (obj) => logs.push(obj) });
  server = createServer((socket) => {
    accepted.push(socket);
    socket.on('error', () => {});
    socket.write('hello\r\n');
  });
  limits.guard(server, { refuse: (socket) => socket.write('busy\r\n') });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    limits,
    logs,
    accepted,
  };
}

describe('connection limits', () => {
  it('counts IPv4 addresses one by one and IPv6 by /64', () => {
    expect(clientOf('192.0.2.7')).toBe('192.0.2.7');
    expect(clientOf('::ffff:192.0.2.7')).toBe('::ffff:192.0.2.7');
    expect(clientOf('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
    expect(clientOf('2001:db8:0:1:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:0:1::/64');
    expect(clientOf('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientOf('::1')).toBe('0:0:0:0::/64');
  });

  it('logs a refused address once a minute however often it is refused, and counts each', async () => {
    const { port, limits, logs } = await listener();
    const open = [await connect(port), await connect(port)];
    await Promise.all(open.map((p) => p.waitFor(/hello/)));
    for (let i = 0; i < 4; i++) {
      const refused = await connect(port);
      await refused.closed();
      expect(refused.text()).toBe('busy\r\n');
    }
    expect(limits.stats()).toMatchObject({ active: 2, refused: 4 });
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ listener: 'test', remote: '127.0.0.1', limit: 'perAddress' });
    open.forEach((p) => p.socket.destroy());
  });

  it('releases a connection once when it ends in an error and a close', async () => {
    const { port, limits, accepted } = await listener();
    const peers = [await connect(port), await connect(port)];
    await Promise.all(peers.map((p) => p.waitFor(/hello/)));
    const socket = accepted[0]!;
    const slot = limits.slotOf(socket)!;
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.destroy(new Error('boom'));
    await closed;
    expect(limits.stats().active).toBe(1);
    slot.release();
    expect(limits.stats().active).toBe(1);
    // The freed place is taken again.
    const again = await connect(port);
    await again.waitFor(/hello/);
    [...peers, again].forEach((p) => p.socket.destroy());
  });
});
