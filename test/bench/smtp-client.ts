/**
 * The smtp benchmark's inbound sender: a minimal SMTP client that speaks the real protocol (the
 * greeting, EHLO, STARTTLS when asked, MAIL, RCPT, DATA, waiting for each reply and checking its
 * code) and writes a mail composed once, already dot-stuffed and ending in the terminator, as it
 * is. nodemailer re-reads every byte of the message it sends (line endings, dot-stuffing) and
 * spent 17 to 29 ms of CPU per 1.36 MB mail in the benchmark's process, on the same two cores as
 * the server it measures; this spends a fraction of a millisecond.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';

export interface SmtpEndpoint {
  port: number;
  /** STARTTLS required, trusting `ca`; else plain SMTP (STARTTLS ignored). */
  tls: boolean;
  ca?: Buffer;
}

/** A mail as the DATA phase carries it: CRLF lines, dot-stuffed, `.\r\n` at its end. */
export interface WireMail {
  from: string;
  to: string;
  /** The message (RFC 5321 4.5.2 transparency applied), up to and including `\r\n.\r\n`. */
  data: Buffer;
}

const HOST = '127.0.0.1';
const CLIENT_NAME = 'pbx.bench.example';
const REPLY_TIMEOUT_MS = 30_000;

/**
 * A message as DATA sends it: bare LFs made CRLF, a dot added before each line that starts with
 * one (RFC 5321 4.5.2), the last line ended, then the terminator.
 */
export function toWire(message: Buffer): Buffer {
  const text = message.toString('latin1').replace(/\r?\n/g, '\r\n');
  const stuffed = text.replace(/^\./gm, '..');
  const ended = stuffed.endsWith('\r\n') ? stuffed : `${stuffed}\r\n`;
  return Buffer.from(`${ended}.\r\n`, 'latin1');
}

/** One SMTP connection, one command at a time. */
export class SmtpClient {
  #socket: Socket | TLSSocket;
  #buffered = '';
  #waiting: ((reply: string) => void) | null = null;
  #failed: Error | null = null;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.#listen(socket);
  }

  /** Connects, reads the greeting, says EHLO; with `tls`, STARTTLS and EHLO again. */
  static async open(endpoint: SmtpEndpoint): Promise<SmtpClient> {
    const socket = connectTcp({ host: HOST, port: endpoint.port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new SmtpClient(socket);
    await client.#expect(220);
    await client.command(`EHLO ${CLIENT_NAME}`, 250);
    if (endpoint.tls) {
      await client.command('STARTTLS', 220);
      await client.#upgrade(endpoint.ca);
      await client.command(`EHLO ${CLIENT_NAME}`, 250);
    }
    return client;
  }

  /** Sends one mail; resolves with the final reply once it is 250, else rejects. */
  async send(mail: WireMail, messageId?: { at: number; bytes: Buffer }): Promise<string> {
    await this.command(`MAIL FROM:<${mail.from}>`, 250);
    await this.command(`RCPT TO:<${mail.to}>`, 250);
    await this.command('DATA', 354);
    const done = this.#expect(250);
    const socket = this.#socket;
    if (messageId) {
      // The mail's own Message-ID goes in its place without copying the megabyte around it.
      socket.cork();
      socket.write(mail.data.subarray(0, messageId.at));
      socket.write(messageId.bytes);
      socket.write(mail.data.subarray(messageId.at + messageId.bytes.length));
      socket.uncork();
    } else {
      socket.write(mail.data);
    }
    return done;
  }

  /** Writes one command line and waits for its reply, which must have code `code`. */
  async command(line: string, code: number): Promise<string> {
    const reply = this.#expect(code);
    this.#socket.write(`${line}\r\n`);
    return reply;
  }

  close(): void {
    if (!this.#failed && this.#socket.writable) this.#socket.end('QUIT\r\n');
    this.#socket.destroySoon?.();
  }

  #listen(socket: Socket | TLSSocket): void {
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => {
      this.#buffered += text;
      this.#deliver();
    });
    socket.on('error', (err: Error) => this.#fail(err));
    socket.on('close', () => this.#fail(new Error('connection closed')));
  }

  #upgrade(ca: Buffer | undefined): Promise<void> {
    const plain = this.#socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('error');
    plain.removeAllListeners('close');
    return new Promise((resolve, reject) => {
      const secure = connectTls({ socket: plain, host: HOST, ca, minVersion: 'TLSv1.2' }, () => {
        secure.off('error', reject);
        resolve();
      });
      secure.once('error', reject);
      this.#socket = secure;
      this.#listen(secure);
    });
  }

  /** The next complete reply (its last line is `NNN text`); rejects unless it has `code`. */
  #expect(code: number): Promise<string> {
    if (this.#failed) return Promise.reject(this.#failed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.#fail(new Error(`no reply in ${REPLY_TIMEOUT_MS} ms`)),
        REPLY_TIMEOUT_MS,
      );
      this.#waiting = (reply) => {
        clearTimeout(timer);
        if (this.#failed) reject(this.#failed);
        else if (reply.startsWith(`${code} `)) resolve(reply);
        else reject(new Error(`expected ${code}, got: ${reply.trim()}`));
      };
      this.#deliver();
    });
  }

  #deliver(): void {
    if (!this.#waiting) return;
    // A reply ends with the line whose code is followed by a space (RFC 5321 4.2.1).
    const last = /^\d{3} [^\n]*\n/m.exec(this.#buffered);
    if (!last) return;
    const end = last.index + last[0].length;
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting(this.#buffered.slice(last.index, end));
    this.#buffered = this.#buffered.slice(end);
  }

  #fail(err: Error): void {
    this.#failed ??= err;
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.('');
  }
}
