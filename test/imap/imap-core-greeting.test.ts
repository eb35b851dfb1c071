/**
 * imap-core's `deferSetup` (the patch): the plain port greets a connection as it is accepted and
 * sets its session up when the server says (Voicegate: in a turn of the event loop without new
 * connections, imap/quiet-turns.ts). Here the set-ups are held until the test lets them run.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { IMAPServer, type Callback } from '../../imap/imap-core.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- imap-core is untyped
let server: any;
const sockets: Socket[] = [];
/** Set-ups imap-core handed over, not run yet. */
const held: (() => void)[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  held.length = 0;
  await new Promise((resolve) => server?.close(resolve));
});

async function start(): Promise<number> {
  server = new IMAPServer({
    logger: false,
    disableReverseLookup: true,
    closeTimeout: 100,
    ignoreSTARTTLS: true,
    id: { name: 'Voicegate' },
    deferSetup: (setup: () => void) => held.push(setup),
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

/** A client collecting what the server sends; `until` waits for a pattern. */
function client(port: number): { socket: Socket; until(pattern: RegExp): Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  socket.on('error', () => {});
  let text = '';
  const waiting: (() => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    for (const wake of waiting.splice(0)) wake();
  });
  return {
    socket,
    async until(pattern) {
      while (!pattern.test(text)) await new Promise<void>((r) => waiting.push(r));
      return text;
    },
  };
}

/** Waits until imap-core has handed over `count` set-ups. */
async function heldCount(count: number): Promise<void> {
  while (held.length < count) await new Promise((r) => setTimeout(r, 5));
}

it('greets before the session is set up, and answers what came meanwhile once it is', async () => {
  const port = await start();
  const c = client(port);
  const greeting = await c.until(/\r\n/);
  expect(greeting).toMatch(
    /^\* OK Voicegate ready for requests from 127\.0\.0\.1 [a-z2-7]{16}\r\n$/,
  );
  expect(server.connections.size).toBe(0);
  c.socket.write('A1 CAPABILITY\r\nA2 LOGIN alice secret\r\n');
  await heldCount(1);
  held.shift()!();
  const text = await c.until(/^A2 OK/m);
  expect(text).toMatch(/^A1 OK/m);
  // One greeting only: the session does not greet again.
  expect(text.match(/^\* OK Voicegate ready/gm)).toHaveLength(1);
  expect(server.connections.size).toBe(1);
});

it('skips the set-up of a connection gone before it, keeping nothing and serving on', async () => {
  const port = await start();
  const accepted = new Promise<Socket>((resolve) => server.server.once('connection', resolve));
  const gone = client(port);
  await gone.until(/\r\n/);
  await heldCount(1);
  // A reset (RST), the hostile way to leave: the socket errors before imap-core listens to it.
  const closed = new Promise((resolve) => void accepted.then((s) => s.once('close', resolve)));
  gone.socket.resetAndDestroy();
  await closed;
  held.shift()!();
  expect(server.connections.size).toBe(0);
  const next = client(port);
  await next.until(/\r\n/);
  await heldCount(1);
  held.shift()!();
  next.socket.write('A1 NOOP\r\n');
  await next.until(/^A1 OK/m);
  expect(server.connections.size).toBe(1);
});
