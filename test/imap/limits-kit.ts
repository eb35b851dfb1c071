import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ConnectionStats } from '../../server/net/connection-limits.ts';
import type { TestServer } from '../helpers/test-server.ts';

/** The limits the tests configure: short deadlines, few connections. */
export const LIMITS = {
  perAddress: 5,
  total: 8,
  handshakeSeconds: 1,
  // The smallest the config allows.
  preAuthSeconds: 5,
};
export const LIMIT_SETS = Object.entries(LIMITS).map(([k, v]) => `limits.${k}=${v}`);

/** A client socket (plain or TLS) that keeps what the server said and when it closed. */
export interface Peer {
  socket: Socket;
  /** Everything received so far. */
  text(): string;
  /** Resolves with the text received once it matches (bounded by `ms`). */
  waitFor(pattern: RegExp, ms?: number): Promise<string>;
  /** Resolves with the seconds from connect to close (bounded by `ms`). */
  closed(ms?: number): Promise<number>;
  isClosed(): boolean;
}

export function connect(
  port: number,
  opts: { localAddress?: string; tls?: boolean } = {},
): Promise<Peer> {
  const localAddress = opts.localAddress ?? '127.0.0.1';
  const start = performance.now();
  const raw = netConnect({ host: '127.0.0.1', port, localAddress });
  const socket: Socket = opts.tls ? tlsConnect({ socket: raw, rejectUnauthorized: false }) : raw;
  let received = '';
  let closedAt: number | undefined;
  const waiters = new Set<() => void>();
  const wake = (): void => waiters.forEach((w) => w());
  socket.on('data', (d: Buffer) => {
    received += d.toString('latin1');
    wake();
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    closedAt = performance.now();
    wake();
  });
  const until = <T>(test: () => T | undefined, ms: number, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        let value: T | undefined;
        try {
          value = test();
        } catch (err) {
          value = undefined;
          clearTimeout(timer);
          waiters.delete(check);
          return reject(err as Error);
        }
        if (value === undefined) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(value);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`${what} not within ${ms} ms; received ${JSON.stringify(received)}`));
      }, ms);
      waiters.add(check);
      check();
    });
  const peer: Peer = {
    socket,
    text: () => received,
    waitFor: (pattern, ms = 3000) =>
      until(
        () =>
          pattern.test(received)
            ? received
            : closedAt !== undefined
              ? (() => {
                  throw new Error(`closed before ${pattern}; received ${JSON.stringify(received)}`);
                })()
              : undefined,
        ms,
        String(pattern),
      ),
    closed: (ms = 3000) =>
      until(() => (closedAt === undefined ? undefined : (closedAt - start) / 1000), ms, 'close'),
    isClosed: () => closedAt !== undefined,
  };
  return new Promise((resolve, reject) => {
    socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve(peer));
    socket.once('error', reject);
  });
}

/** Sends `text` one byte every `everyMs` until the socket closes. */
export function trickle(peer: Peer, text: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (peer.isClosed()) return clearInterval(timer);
    peer.socket.write(text[i++ % text.length]!);
  }, everyMs);
  peer.socket.once('close', () => clearInterval(timer));
}

/** The server's connection counts (`/healthz/connections`), asked from an address of its own. */
export function connectionStats(server: TestServer): Promise<Record<string, ConnectionStats>> {
  const url = new URL('/healthz/connections', server.urls.http);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { localAddress: '127.0.0.99', rejectUnauthorized: false, agent: false },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(JSON.parse(body)));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Waits until the listener's open connections are down to `active` (bounded). */
export async function activeDown(
  server: TestServer,
  listener: string,
  active: number,
  ms = 3000,
): Promise<ConnectionStats> {
  const deadline = performance.now() + ms;
  for (;;) {
    // While the web listener is still full the question itself is refused.
    const stats = (await connectionStats(server).catch(() => undefined))?.[listener];
    if (stats && stats.active <= active) return stats;
    if (performance.now() > deadline)
      throw new Error(`${listener} still has ${stats?.active ?? 'too many'} connections open`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
