/**
 * imap-core's two timeouts as a client sees them, with short configured values: a silent
 * session ends with BYE, a silent IDLE hears "* OK Still here" and stays, an IDLE that outlasts
 * the IDLE timeout ends with BYE. They are kept by one sweep per server (imap/README.md, the
 * patch), not by a timer per session.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { IMAPServer, type Callback } from '../../imap/imap-core.ts';

/** A plaintext IMAP client that reads whole lines. */
class LineClient {
  readonly lines: string[] = [];
  closed = false;
  #buffer = '';
  #wake: (() => void) | null = null;

  readonly socket: Socket;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer += chunk.toString('latin1');
      let end: number;
      while ((end = this.#buffer.indexOf('\r\n')) >= 0) {
        this.lines.push(this.#buffer.slice(0, end));
        this.#buffer = this.#buffer.slice(end + 2);
      }
      this.#wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake?.();
    });
    socket.on('error', () => {});
  }

  /** The first line (from the start) that matches, waiting for it; throws if the socket closes first. */
  async line(pattern: RegExp): Promise<string> {
    const [first] = await this.matching(pattern, 1);
    return first!;
  }

  /** Waits for `count` lines that match. */
  async matching(pattern: RegExp, count: number): Promise<string[]> {
    for (;;) {
      const found = this.lines.filter((l) => pattern.test(l));
      if (found.length >= count) return found;
      if (this.closed) throw new Error(`closed without ${pattern}: ${this.lines.join(' | ')}`);
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  async untilClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((resolve) => (this.#wake = resolve));
  }

  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- imap-core is untyped
let server: any;
const clients: LineClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.destroy();
  await new Promise((resolve) => server?.close(resolve));
});

async function start(timeouts: { socketTimeout: number; idleTimeout: number }): Promise<number> {
  server = new IMAPServer({
    ...timeouts,
    logger: false,
    disableReverseLookup: true,
    closeTimeout: 100,
    ignoreSTARTTLS: true,
  });
  server.notifier = {
    addListener: () => {},
    removeListener: () => {},
    getUpdates: (_m: unknown, _i: unknown, cb: Callback) => cb(null, []),
  };
  server.onAuth = (login: { username: string }, _session: unknown, cb: Callback) =>
    cb(null, { user: { id: 1, username: login.username } });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server.server.address().port as number;
}

async function loggedIn(port: number): Promise<LineClient> {
  const client = new LineClient(connect(port, '127.0.0.1'));
  clients.push(client);
  await client.line(/^\* OK /);
  client.send('A1 LOGIN alice secret');
  await client.line(/^A1 OK/);
  return client;
}

it('ends a session that says nothing for the socket timeout with BYE', async () => {
  const port = await start({ socketTimeout: 300, idleTimeout: 60_000 });
  const client = await loggedIn(port);
  await client.line(/^\* BYE Idle timeout, closing connection$/);
  await client.untilClosed();
});

it('keeps an idling session past the socket timeout, telling it "* OK Still here"', async () => {
  const port = await start({ socketTimeout: 300, idleTimeout: 60_000 });
  const client = await loggedIn(port);
  client.send('A2 IDLE');
  await client.line(/^\+ idling$/);
  // a second one: the first did not end the session
  await client.matching(/^\* OK Still here \(\d+\)$/, 2);
  client.send('DONE');
  await client.line(/^A2 OK IDLE terminated$/);
  expect(client.lines.filter((l) => l.startsWith('* BYE'))).toEqual([]);
});

it('ends an IDLE that lasts the IDLE timeout with BYE, and the session with it', async () => {
  const port = await start({ socketTimeout: 60_000, idleTimeout: 500 });
  const client = await loggedIn(port);
  const started = Date.now();
  client.send('A2 IDLE');
  await client.line(/^\+ idling$/);
  await client.line(/^\* BYE IDLE terminated$/);
  expect(Date.now() - started).toBeGreaterThanOrEqual(500);
  await client.untilClosed();
});

it('answers a line other than DONE during IDLE with BAD, and goes on serving', async () => {
  const port = await start({ socketTimeout: 60_000, idleTimeout: 60_000 });
  const client = await loggedIn(port);
  client.send('A2 IDLE');
  await client.line(/^\+ idling$/);
  client.send('NOPE');
  await client.line(/^A2 BAD Invalid Idle continuation \("NOPE"\)$/);
  client.send('A3 NOOP');
  await client.line(/^A3 OK/);
});

it('arms no timer per idling session', async () => {
  const port = await start({ socketTimeout: 60_000, idleTimeout: 60_000 });
  const timers = (): number =>
    process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const first = await loggedIn(port);
  first.send('A2 IDLE');
  await first.line(/^\+ idling$/);
  const before = timers();
  for (let i = 0; i < 20; i++) {
    const client = await loggedIn(port);
    client.send('A2 IDLE');
    await client.line(/^\+ idling$/);
  }
  expect(timers() - before).toBeLessThan(5);
});
