/**
 * A minimal IMAP client on a raw socket, for checking the exact wire answers (response codes and
 * texts, untagged replies) that imapflow interprets away. Literals are read as bytes and kept,
 * as latin1 text, inside the response they belong to.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw } from 'node:zlib';

export interface RawReply {
  status: 'OK' | 'NO' | 'BAD';
  /** The tagged line after the status, e.g. `[NONEXISTENT] Unknown mailbox`. */
  text: string;
  /** `[CODE ...]` of the tagged line, without brackets, or '' when there is none. */
  code: string;
  /** Untagged responses (without the leading `* `), literals inlined as latin1. */
  untagged: string[];
}

export class RawImap {
  #socket: Socket | TLSSocket;
  #buffer = Buffer.alloc(0);
  #responses: string[] = [];
  #waiters: (() => void)[] = [];
  #tag = 0;
  #deflate: DeflateRaw | undefined;
  /** Under COMPRESS: bytes the socket delivered that inflate has not handed on yet. */
  #inflating: Promise<void> | null = null;
  /** The socket closed and everything it brought was parsed. */
  #drained = false;
  /** Bytes received on the socket (after TLS, before any decompression). */
  wireBytesRead = 0;
  /** Bytes of IMAP protocol received (after decompression). */
  protocolBytesRead = 0;
  /** The server greeting (first line, without `* `). */
  greeting = '';

  private constructor(socket: Socket | TLSSocket) {
    this.#socket = socket;
    this.#attach();
  }

  /** Connects with implicit TLS (`secure`) or in plain text (the STARTTLS port). */
  static async connect(port: number, secure = true): Promise<RawImap> {
    const socket = await new Promise<Socket | TLSSocket>((resolve, reject) => {
      const s: Socket | TLSSocket = secure
        ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(s))
        : netConnect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
    const raw = new RawImap(socket);
    raw.greeting = (await raw.#next()).replace(/^\* /, '');
    return raw;
  }

  /** Sends `STARTTLS` and upgrades the socket. */
  async startTls(): Promise<RawReply> {
    const reply = await this.command('STARTTLS');
    if (reply.status !== 'OK') return reply;
    const plain = this.#socket;
    plain.removeAllListeners('data');
    this.#socket = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ socket: plain, rejectUnauthorized: false }, () => resolve(s));
      s.once('error', reject);
    });
    this.#attach();
    return reply;
  }

  /** COMPRESS DEFLATE (RFC 4978): from its OK on, both directions are raw DEFLATE streams. */
  async compress(): Promise<RawReply> {
    const reply = await this.command('COMPRESS DEFLATE');
    if (reply.status !== 'OK') return reply;
    const inflate = createInflateRaw();
    inflate.on('data', (chunk: Buffer) => this.#onData(chunk));
    // The server's last words (LOGOUT's OK) may still be in inflate when the socket closes:
    // the connection counts as closed only once inflate has handed on everything. The server
    // need not finish its DEFLATE stream, so ending inflate could fail ("unexpected end of
    // file") and drop output it had not handed on yet: a sync flush hands it all on instead.
    this.#inflating = new Promise<void>((resolve) => {
      let flushed = false;
      const drain = (): void => {
        if (flushed) return;
        flushed = true;
        inflate.flush(constants.Z_SYNC_FLUSH, () => setImmediate(resolve));
      };
      this.#socket.once('end', drain);
      this.#socket.once('close', drain);
      inflate.once('error', () => resolve());
    });
    this.#socket.removeAllListeners('data');
    this.#socket.on('data', (chunk: Buffer) => {
      this.wireBytesRead += chunk.length;
      inflate.write(chunk);
    });
    const deflate = createDeflateRaw();
    deflate.on('data', (chunk: Buffer) => this.#socket.write(chunk));
    this.#deflate = deflate;
    return reply;
  }

  /** Sends one command (without tag) and collects everything up to its tagged reply. */
  async command(line: string): Promise<RawReply> {
    const tag = `R${++this.#tag}`;
    this.#write(`${tag} ${line}\r\n`);
    const untagged: string[] = [];
    for (;;) {
      const response = await this.#next();
      if (response.startsWith('* ')) {
        untagged.push(response.slice(2));
        continue;
      }
      if (response.startsWith('+')) continue;
      const match = /^(\S+) (OK|NO|BAD)\b ?(.*)$/s.exec(response);
      if (match && match[1] === tag) {
        const text = match[3]!;
        const code = /^\[([^\]]*)\]/.exec(text)?.[1] ?? '';
        return { status: match[2] as RawReply['status'], text, code, untagged };
      }
    }
  }

  /** Sends a line without waiting (e.g. `DONE` ending IDLE). */
  send(line: string): void {
    this.#write(`${line}\r\n`);
  }

  /** The next response line the server sends (with any literals), e.g. after `send`. */
  response(): Promise<string> {
    return this.#next();
  }

  close(): void {
    this.#socket.destroy();
  }

  #write(text: string): void {
    if (!this.#deflate) {
      this.#socket.write(text);
      return;
    }
    this.#deflate.write(text);
    this.#deflate.flush(constants.Z_SYNC_FLUSH);
  }

  #onData(chunk: Buffer): void {
    this.protocolBytesRead += chunk.length;
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    this.#parse();
  }

  #attach(): void {
    this.#socket.on('data', (chunk: Buffer) => {
      this.wireBytesRead += chunk.length;
      this.#onData(chunk);
    });
    this.#socket.on('close', () => {
      void (this.#inflating ?? Promise.resolve()).then(() => {
        this.#drained = true;
        for (const w of this.#waiters.splice(0)) w();
      });
    });
  }

  /** Splits the buffer into whole responses, each a line with any literals it announces. */
  #parse(): void {
    for (;;) {
      let end = 0;
      let complete = false;
      for (;;) {
        const nl = this.#buffer.indexOf('\r\n', end);
        if (nl < 0) break;
        const line = this.#buffer.subarray(end, nl).toString('latin1');
        const literal = /\{(\d+)\}$/.exec(line);
        if (!literal) {
          end = nl + 2;
          complete = true;
          break;
        }
        const after = nl + 2 + Number(literal[1]);
        if (this.#buffer.length < after) break;
        end = after;
      }
      if (!complete) return;
      this.#responses.push(this.#buffer.subarray(0, end - 2).toString('latin1'));
      this.#buffer = this.#buffer.subarray(end);
      for (const w of this.#waiters.splice(0)) w();
    }
  }

  async #next(): Promise<string> {
    while (this.#responses.length === 0) {
      if (this.#socket.destroyed && this.#drained) throw new Error('connection closed');
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return this.#responses.shift()!;
  }
}

/** Logs in over implicit TLS and returns the connection. */
export async function rawLogin(port: number, user: string, pass: string): Promise<RawImap> {
  const raw = await RawImap.connect(port);
  const reply = await raw.command(`LOGIN ${quote(user)} ${quote(pass)}`);
  if (reply.status !== 'OK') {
    raw.close();
    throw new Error(`login failed: ${reply.status} ${reply.text}`);
  }
  return raw;
}

export function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
