import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect as tcpConnect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import { formatRecord, type SyslogHeader } from './syslog-format.ts';

export interface SyslogOptions {
  /** udp://host:port, tcp://host:port (RFC 6587 octet counting) or tls://host:port (RFC 5425). */
  target: string;
  facility: number;
  appName: string;
  /** pino's numeric level of the least severe record sent; audit and alarm records always are. */
  minLevel: number;
  /** Records held while the collector is away; beyond it the oldest are dropped and counted. */
  buffer: number;
  /** For tls: the CA (PEM) the collector's certificate is checked against; the system's if absent. */
  ca?: Buffer;
  /** Told of a connection problem, once per outage (never through the logger it serves). */
  onProblem?: (message: string) => void;
}

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

/**
 * A pino destination that sends records to a syslog collector. `write` only formats and
 * queues: the server never waits on the collector, and a collector that is down, slow or
 * refusing costs a bounded buffer (the oldest records are dropped first, and counted) while
 * the sink reconnects with a growing pause.
 */
export class SyslogSink {
  readonly #o: SyslogOptions;
  readonly #proto: 'udp' | 'tcp' | 'tls';
  readonly #host: string;
  readonly #port: number;
  readonly #header: SyslogHeader;
  readonly #queue: string[] = [];
  #socket: Socket | null = null;
  #udp: UdpSocket | null = null;
  #connected = false;
  #retryMs = RETRY_MIN_MS;
  #retryTimer: NodeJS.Timeout | null = null;
  #closed = false;
  #reported = false;
  #sent = 0;
  #dropped = 0;

  constructor(o: SyslogOptions) {
    const m = /^(udp|tcp|tls):\/\/(.+):(\d+)$/.exec(o.target);
    if (!m) throw new Error(`syslog.target "${o.target}" is not udp://, tcp:// or tls://host:port`);
    this.#o = o;
    this.#proto = m[1] as 'udp' | 'tcp' | 'tls';
    this.#host = m[2]!.replace(/^\[(.*)\]$/, '$1');
    this.#port = Number(m[3]);
    this.#header = { facility: o.facility, appName: o.appName, hostname: hostname() };
    this.#open();
  }

  /** pino's destination: one JSON record per call. */
  write(line: string): boolean {
    if (this.#closed) return true;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return true;
    }
    const level = typeof record.level === 'number' ? record.level : 30;
    if (level < this.#o.minLevel && !record.audit && !record.alarm) return true;
    this.#queue.push(formatRecord(record, this.#header));
    if (this.#queue.length > this.#o.buffer) {
      this.#queue.shift();
      this.#dropped++;
    }
    this.#flush();
    return true;
  }

  stats(): { sent: number; dropped: number; queued: number; connected: boolean } {
    return {
      sent: this.#sent,
      dropped: this.#dropped,
      queued: this.#queue.length,
      connected: this.#connected,
    };
  }

  #open(): void {
    if (this.#closed) return;
    if (this.#proto === 'udp') {
      const udp = createSocket(this.#host.includes(':') ? 'udp6' : 'udp4');
      udp.on('error', (err) => this.#problem(`syslog over UDP: ${err.message}`));
      udp.unref();
      this.#udp = udp;
      this.#connected = true;
      return;
    }
    const onConnect = (): void => {
      this.#connected = true;
      this.#retryMs = RETRY_MIN_MS;
      this.#reported = false;
      this.#flush();
    };
    const socket =
      this.#proto === 'tls'
        ? tlsConnect(
            { host: this.#host, port: this.#port, ca: this.#o.ca, servername: this.#host },
            onConnect,
          )
        : tcpConnect({ host: this.#host, port: this.#port }, onConnect);
    socket.setNoDelay(true);
    socket.unref();
    socket.on('error', (err) => this.#problem(`syslog to ${this.#o.target}: ${err.message}`));
    socket.on('close', () => {
      this.#connected = false;
      this.#socket = null;
      this.#retry();
    });
    // A collector that stops reading fills the socket's buffer: records wait in the queue then.
    socket.on('drain', () => this.#flush());
    this.#socket = socket;
  }

  #problem(message: string): void {
    if (this.#reported) return;
    this.#reported = true;
    this.#o.onProblem?.(message);
  }

  #retry(): void {
    if (this.#closed || this.#retryTimer) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#open();
    }, this.#retryMs);
    this.#retryTimer.unref();
    this.#retryMs = Math.min(RETRY_MAX_MS, this.#retryMs * 2);
  }

  #flush(): void {
    if (!this.#connected) return;
    if (this.#udp) {
      for (const msg of this.#queue.splice(0)) {
        this.#udp.send(msg, this.#port, this.#host);
        this.#sent++;
      }
      return;
    }
    const socket = this.#socket;
    if (!socket) return;
    while (this.#queue.length > 0 && !socket.writableNeedDrain) {
      const msg = this.#queue.shift()!;
      // RFC 6587 / RFC 5425 octet counting: the length in bytes, a space, the message.
      socket.write(`${Buffer.byteLength(msg)} ${msg}`);
      this.#sent++;
    }
  }

  /** Sends what is queued if the collector is there (at most `waitMs`), then closes. */
  async close(waitMs = 1000): Promise<void> {
    if (this.#closed) return;
    const socket = this.#socket;
    if (socket && this.#connected && this.#queue.length === 0)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, waitMs);
        socket.end(() => {
          clearTimeout(t);
          resolve();
        });
      });
    this.#closed = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#socket?.destroy();
    this.#udp?.close();
  }
}
