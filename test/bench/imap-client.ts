/**
 * A lean IMAP client for load generation: one command at a time, literals skipped (or kept, for
 * the export) without being parsed, and only the first line of each untagged response decoded.
 * imapflow parses every response into objects, which costs the generator more CPU than the
 * servers spend on the same session; this one only frames lines and literals.
 */
import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { performance } from 'node:perf_hooks';

export interface Reply {
  status: string;
  text: string;
  ms: number;
  /** Bytes received from the command's write to its tagged reply. */
  bytes: number;
  /** With `capture`: each untagged response's text (literals left out) and its literals. */
  untagged: { text: string; literals: Buffer[] }[];
}

interface Waiter {
  tag: string;
  t0: number;
  bytes0: number;
  capture: boolean;
  untagged: Reply['untagged'];
  resolve(reply: Reply): void;
  reject(err: Error): void;
}

const LF = 10;
const LITERAL_AT_END = /\{(\d+)\}\r\n$/;
const TAGGED = /^(\S+) (OK|NO|BAD)\b ?(.*)$/s;

export interface ConnectOptions {
  host: string;
  port: number;
  localAddress?: string;
  timeoutMs?: number;
  /** Implicit TLS (port 993's way), the server's certificate not checked. */
  tls?: boolean;
}

export class RawImap {
  readonly socket: Socket;
  /** Bytes received on this connection so far. */
  bytes = 0;
  /** Called with the first line of every untagged response (after the greeting). */
  onUntagged: ((text: string) => void) | undefined;
  #nextTag = 0;
  #waiter: Waiter | undefined;
  #continuation: { resolve(): void; reject(err: Error): void } | undefined;
  #greeting: { resolve(): void; reject(err: Error): void } | undefined;
  #partial: Buffer[] = [];
  #literalLeft = 0;
  /** The response being read: its text so far, and its literals when capturing. */
  #head: string | undefined;
  #text: string[] = [];
  #literals: Buffer[] = [];
  #closed: Error | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#fail(new Error('connection closed')));
  }

  /** Connects and waits for the server's greeting. */
  static open(opts: ConnectOptions): Promise<RawImap> {
    const to = { host: opts.host, port: opts.port, localAddress: opts.localAddress };
    const socket = opts.tls ? connectTls({ ...to, rejectUnauthorized: false }) : connect(to);
    socket.setNoDelay(true);
    const client = new RawImap(socket);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => client.#fail(new Error('no greeting in time')),
        opts.timeoutMs ?? 30_000,
      );
      client.#greeting = {
        resolve: () => {
          clearTimeout(timer);
          resolve(client);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
  }

  /** Sends `command` and resolves on its tagged reply; rejects on NO or BAD unless `allowNo`. */
  command(command: string, opts: { capture?: boolean; allowNo?: boolean } = {}): Promise<Reply> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (this.#waiter) return Promise.reject(new Error('a command is already in flight'));
    const tag = `A${++this.#nextTag}`;
    const reply = new Promise<Reply>((resolve, reject) => {
      this.#waiter = {
        tag,
        t0: performance.now(),
        bytes0: this.bytes,
        capture: Boolean(opts.capture),
        untagged: [],
        resolve,
        reject,
      };
    });
    this.socket.write(`${tag} ${command}\r\n`);
    return reply.then((r) =>
      r.status === 'OK' || opts.allowNo
        ? r
        : Promise.reject(new Error(`${command.split(' ')[0]} failed: ${r.status} ${r.text}`)),
    );
  }

  /** Starts IDLE; resolves once the server says it is idling. `done()` ends it. */
  async idle(): Promise<{ reply: Promise<Reply> }> {
    const continued = new Promise<void>((resolve, reject) => {
      this.#continuation = { resolve, reject };
    });
    const reply = this.command('IDLE');
    reply.catch(() => {}); // observed through `done()` or the continuation
    await continued;
    return { reply };
  }

  done(idle: { reply: Promise<Reply> }): Promise<Reply> {
    this.socket.write('DONE\r\n');
    return idle.reply;
  }

  async logout(): Promise<Reply> {
    const reply = await this.command('LOGOUT');
    this.socket.destroy();
    return reply;
  }

  destroy(): void {
    this.socket.destroy();
  }

  #fail(err: Error): void {
    if (this.#closed) return;
    this.#closed = err;
    this.socket.destroy();
    this.#greeting?.reject(err);
    this.#continuation?.reject(err);
    this.#waiter?.reject(err);
    this.#greeting = this.#continuation = this.#waiter = undefined;
  }

  #onData(chunk: Buffer): void {
    this.bytes += chunk.length;
    let at = 0;
    while (at < chunk.length) {
      if (this.#literalLeft > 0) {
        const n = Math.min(this.#literalLeft, chunk.length - at);
        if (this.#waiter?.capture) this.#literals.push(chunk.subarray(at, at + n));
        this.#literalLeft -= n;
        at += n;
        continue;
      }
      const lf = chunk.indexOf(LF, at);
      if (lf < 0) {
        this.#partial.push(chunk.subarray(at));
        return;
      }
      const piece = chunk.subarray(at, lf + 1);
      const line = (
        this.#partial.length ? Buffer.concat([...this.#partial, piece]) : piece
      ).toString('latin1');
      this.#partial = [];
      at = lf + 1;
      this.#onLine(line);
    }
  }

  /** One line: the start of a response, or its continuation after a literal. */
  #onLine(line: string): void {
    const literal = LITERAL_AT_END.exec(line);
    if (this.#head === undefined) this.#head = line;
    if (this.#waiter?.capture) this.#text.push(literal ? line.slice(0, literal.index) : line);
    if (literal) {
      // The response goes on after the literal's bytes (none, for an empty one).
      this.#literalLeft = Number(literal[1]);
      return;
    }
    const head = this.#head;
    const text = this.#text.join('');
    const literals = this.#literals;
    this.#head = undefined;
    this.#text = [];
    this.#literals = [];
    this.#onResponse(head.replace(/\r\n$/, ''), text, literals);
  }

  #onResponse(head: string, text: string, literals: Buffer[]): void {
    if (this.#greeting) {
      const greeting = this.#greeting;
      this.#greeting = undefined;
      if (head.startsWith('* OK')) greeting.resolve();
      else this.#fail(new Error(`unexpected greeting: ${head}`));
      return;
    }
    if (head.startsWith('+')) {
      const c = this.#continuation;
      this.#continuation = undefined;
      c?.resolve();
      return;
    }
    if (head.startsWith('* ')) {
      if (this.#waiter?.capture) this.#waiter.untagged.push({ text, literals });
      this.onUntagged?.(head);
      return;
    }
    const tagged = TAGGED.exec(head);
    const w = this.#waiter;
    if (!tagged || !w || tagged[1] !== w.tag) {
      this.#fail(new Error(`unexpected response: ${head.slice(0, 200)}`));
      return;
    }
    this.#waiter = undefined;
    w.resolve({
      status: tagged[2]!,
      text: tagged[3]!,
      ms: performance.now() - w.t0,
      bytes: this.bytes - w.bytes0,
      untagged: w.untagged,
    });
  }
}

/** An IMAP quoted string. */
export function quote(s: string): string {
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
