/**
 * STARTTLS on the plain port as a hostile or hasty client drives it: the handshake sent the
 * moment the OK arrives, after commands pipelined before STARTTLS, and plaintext pipelined
 * after STARTTLS, which must never be taken as a command (RFC 9051 11.1, RFC 3207 4.2's
 * command injection).
 */
import { connect, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { explain, run } from './fixtures/clients-run.ts';

const CLIENT = fileURLToPath(new URL('./fixtures/starttls-client.mjs', import.meta.url));

let server: TestServer;
/** Once a reply matching this is written on an IMAP socket, the event loop is held 200 ms. */
let busyAfter: RegExp | undefined;
beforeAll(async () => {
  server = await startTestServer();
  const write = Socket.prototype.write;
  Socket.prototype.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
    const written = write.apply(this, args);
    const [chunk] = args;
    if (busyAfter && this.localPort === server.ports.imap && busyAfter.test(String(chunk))) {
      busyAfter = undefined;
      const until = performance.now() + 200;
      while (performance.now() < until);
    }
    return written;
  } as Socket['write'];
});
afterAll(async () => server?.stop());

/** Reads lines from a plain socket until one matches; the rest of the stream stays unread. */
function plainUntil(socket: Socket, pattern: RegExp): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const lines: string[] = [];
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString('latin1');
      let end: number;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        lines.push(line);
        if (pattern.test(line)) {
          socket.off('data', onData);
          socket.pause();
          if (buffer) socket.unshift(Buffer.from(buffer, 'latin1'));
          resolve(lines);
          return;
        }
      }
    };
    socket.on('data', onData);
    socket.resume();
    socket.once('close', () => reject(new Error(`closed before ${pattern}: ${lines.join(' | ')}`)));
  });
}

/** The TLS session over `socket`, once the handshake is done. */
function handshake(socket: Socket): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({ socket, servername: 'localhost', rejectUnauthorized: false }, () =>
      resolve(tls),
    );
    tls.once('error', reject);
  });
}

/** Everything the server sends over TLS until it closes (after LOGOUT). */
function tlsRest(tls: TLSSocket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    tls.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    tls.on('error', () => {});
    tls.once('close', () => resolve(text));
  });
}

async function plainConnection(): Promise<Socket> {
  const socket = connect(server.ports.imap, '127.0.0.1');
  socket.on('error', () => {});
  await plainUntil(socket, /^\* OK/);
  return socket;
}

describe('STARTTLS', () => {
  it('takes the handshake a client sends the moment it reads the OK, while the server is busy', async () => {
    // STARTTLS pipelined after CAPABILITY is answered in the check phase of the event loop, and
    // the upgrade waits for the next one. The server is kept busy once its OK is out, so the
    // client's ClientHello (from a process of its own) is there to be read before the upgrade.
    busyAfter = /^b OK/m;
    const r = await run(process.execPath, [CLIENT, String(server.ports.imap)]);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/^c OK/m);
  });

  it('never takes plaintext pipelined after STARTTLS as a command', async () => {
    const socket = await plainConnection();
    socket.write('a STARTTLS\r\nb LOGOUT\r\n');
    const lines = await plainUntil(socket, /^a OK/);
    expect(lines.join('\n')).not.toMatch(/^b /m);
    const tls = await handshake(socket);
    const rest = tlsRest(tls);
    tls.write('c NOOP\r\nd LOGOUT\r\n');
    const text = await rest;
    expect(text).toMatch(/^c OK/m);
    expect(text).not.toMatch(/^b /m);
  });
});
