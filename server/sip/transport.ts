// SIP over UDP and TCP (RFC 3261 section 18, RFC 3581). Frames and routes messages; knows
// nothing of transactions. Nothing thrown by a peer's bytes may escape a socket handler.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, connect, type Server, type Socket } from 'node:net';
import {
  LIMITS,
  ParseError,
  findHeaderEnd,
  formatVia,
  getHeaders,
  makeResponse,
  parseMessage,
  parseVia,
  serialize,
  setHeader,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from './message.ts';
import type { SipLog } from './log.ts';

export type TransportName = 'udp' | 'tcp';

export interface Peer {
  transport: TransportName;
  address: string;
  port: number;
}

export interface TransportOptions {
  host: string;
  port: number;
  tcp: boolean;
  log: SipLog;
  onMessage: (msg: SipMessage, source: Peer) => void;
  /** Connections accepted over TCP; beyond either limit a new one is closed at once. */
  tcpLimits?: Partial<TcpLimits>;
}

export interface TcpLimits {
  /** Simultaneous accepted connections from one address. */
  perAddress: number;
  /** Simultaneous accepted connections in all. */
  total: number;
  /**
   * A message must be whole this many ms after its first byte, and an accepted connection's
   * first message this many ms after the connect: trickling bytes does not extend it.
   */
  messageMs: number;
  /** A connection with no whole message (or keepalive) for this long is closed. */
  idleMs: number;
}

export const DEFAULT_TCP_LIMITS: TcpLimits = {
  perAddress: 50,
  total: 2000,
  messageMs: 10_000,
  idleMs: 120_000,
};

/** Refusals are logged at most once per address in this time. */
const REFUSAL_LOG_MS = 60_000;

const key = (p: { address: string; port: number }): string => `${p.address}:${p.port}`;

export class Transport {
  readonly port: number;
  readonly tcpPort: number | null;
  private readonly opts: TransportOptions;
  private readonly udp: UdpSocket;
  private readonly tcp: Server | null;
  private readonly connections = new Map<string, Socket>();
  private readonly limits: TcpLimits;
  /** Accepted connections per remote address (those we opened are not counted). */
  private readonly accepted = new Map<string, number>();
  private acceptedTotal = 0;
  private refusedConnections = 0;
  private readonly refusalLogged = new Map<string, number>();
  private closed = false;

  private constructor(opts: TransportOptions, udp: UdpSocket, tcp: Server | null, port: number) {
    this.opts = opts;
    this.udp = udp;
    this.tcp = tcp;
    this.port = port;
    this.tcpPort = tcp ? port : null;
    this.limits = { ...DEFAULT_TCP_LIMITS, ...opts.tcpLimits };
  }

  /** TCP connections open now (accepted ones) and refused since the start. */
  stats(): { tcpAccepted: number; tcpRefused: number } {
    return { tcpAccepted: this.acceptedTotal, tcpRefused: this.refusedConnections };
  }

  /** Binds UDP, then TCP on the same number; with port 0 retries when TCP finds it taken. */
  static async start(opts: TransportOptions): Promise<Transport> {
    for (let attempt = 0; ; attempt++) {
      const udp = await bindUdp(opts.host, opts.port);
      const port = udp.address().port;
      if (!opts.tcp) return Transport.wire(opts, udp, null, port);
      try {
        const server = await listenTcp(opts.host, port);
        return Transport.wire(opts, udp, server, port);
      } catch (err) {
        udp.close();
        if (opts.port !== 0 || attempt >= 4 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE')
          throw err;
      }
    }
  }

  private static wire(
    opts: TransportOptions,
    udp: UdpSocket,
    tcp: Server | null,
    port: number,
  ): Transport {
    const t = new Transport(opts, udp, tcp, port);
    udp.on('message', (data, rinfo) =>
      t.receive(data, { transport: 'udp', address: rinfo.address, port: rinfo.port }),
    );
    udp.on('error', (err) => opts.log.warn({ err }, 'sip udp socket error'));
    tcp?.on('connection', (sock) => t.admit(sock));
    tcp?.on('error', (err) => opts.log.warn({ err }, 'sip tcp listener error'));
    return t;
  }

  /** Sends a request (or an ACK/CANCEL) to `target`; rejects on a TCP connect failure. */
  async send(msg: SipMessage, target: Peer): Promise<void> {
    if (this.closed) return;
    const data = serialize(msg);
    this.opts.log.debug({ to: target, first: firstLine(data) }, 'sip send');
    if (target.transport === 'udp') {
      await new Promise<void>((resolve, reject) =>
        this.udp.send(data, target.port, target.address, (err) => (err ? reject(err) : resolve())),
      );
      return;
    }
    const sock = this.connections.get(key(target)) ?? (await this.open(target));
    sock.write(data);
  }

  /** RFC 3261 18.2.2 with RFC 3581: the connection it came on, else received/rport, else sent-by. */
  sendResponse(res: SipResponse, source?: Peer): void {
    const top = getHeaders(res, 'via')[0];
    if (!top) return;
    let via;
    try {
      via = parseVia(top);
    } catch {
      return;
    }
    const transport: TransportName = via.transport === 'TCP' ? 'tcp' : 'udp';
    if (
      transport === 'tcp' &&
      source &&
      source.transport === 'tcp' &&
      this.connections.has(key(source))
    ) {
      this.send(res, source).catch((err: unknown) =>
        this.opts.log.debug({ err }, 'sip response not sent'),
      );
      return;
    }
    const rport = via.params.rport;
    const target: Peer = {
      transport,
      address: via.params.received ?? via.host.replace(/^\[|\]$/g, ''),
      port: rport ? Number(rport) : (via.port ?? 5060),
    };
    this.send(res, target).catch((err: unknown) =>
      this.opts.log.debug({ err, target }, 'sip response not sent'),
    );
  }

  /** Is there an open TCP connection to this peer (a flow to send back over)? */
  hasConnection(peer: Peer): boolean {
    return peer.transport === 'tcp' && this.connections.has(key(peer));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.connections.values()) s.destroy();
    this.connections.clear();
    await new Promise<void>((resolve) => this.udp.close(() => resolve()));
    if (this.tcp) await new Promise<void>((resolve) => this.tcp?.close(() => resolve()));
  }

  /**
   * One datagram or framed stream message. Whatever a peer sent, nothing thrown here may leave:
   * a bad message is answered 400 (when a response can be addressed) or dropped, and logged.
   */
  private receive(data: Buffer, source: Peer): void {
    if (this.closed) return;
    // Keepalives (RFC 5626 CRLF) are not messages.
    if (data.length <= 4 && /^[\r\n]*$/.test(data.toString('latin1'))) return;
    let msg: SipMessage;
    try {
      msg = parseMessage(data);
    } catch (err) {
      try {
        this.rejectGarbage(data, source, err);
      } catch (inner) {
        this.opts.log.warn({ err: inner, from: source }, 'sip malformed message dropped');
      }
      return;
    }
    try {
      if (msg.kind === 'request') stampVia(msg, source);
      this.opts.log.debug({ from: source, first: firstLine(data) }, 'sip recv');
      this.opts.onMessage(msg, source);
    } catch (err) {
      this.opts.log.error(
        { err, from: source, first: firstLine(data) },
        'sip message handler threw',
      );
    }
  }

  /** A malformed request whose Via we can read gets a 400 naming the problem; the rest is dropped. */
  private rejectGarbage(data: Buffer, source: Peer, err: unknown): void {
    const reason = err instanceof ParseError ? err.message : 'unparsable';
    const text = data.toString('utf8', 0, Math.min(data.length, LIMITS.maxMessageBytes));
    const lines = text.split(/\r?\n/);
    const isRequest =
      !/^SIP\/2\.0/.test(lines[0] ?? '') && /^\S+ \S+ SIP\/2\.0$/.test(lines[0] ?? '');
    const copy = new Map<string, string[]>();
    for (const line of lines.slice(1)) {
      if (line === '') break;
      const m = /^(via|v|from|f|to|t|call-id|i|cseq)\s*:\s*(.*)$/i.exec(line);
      if (!m) continue;
      const name =
        { v: 'via', f: 'from', t: 'to', i: 'call-id' }[(m[1] ?? '').toLowerCase()] ??
        (m[1] ?? '').toLowerCase();
      copy.set(name, [...(copy.get(name) ?? []), m[2] ?? '']);
    }
    const via = copy.get('via')?.[0];
    let parsable = false;
    try {
      if (via) parseVia(via);
      parsable = via !== undefined;
    } catch {
      parsable = false;
    }
    if (!isRequest || !parsable) {
      this.opts.log.debug({ from: source, reason }, 'sip garbage dropped');
      return;
    }
    const fake: SipRequest = {
      kind: 'request',
      method: 'X',
      uri: 'sip:x',
      headers: copy,
      body: '',
    };
    stampVia(fake, source);
    const res = makeResponse(
      fake,
      400,
      `Bad Request (${reason.replace(/[\r\n]/g, ' ').slice(0, 80)})`,
    );
    this.opts.log.debug({ from: source, reason }, 'sip malformed request answered 400');
    this.sendResponse(res, source);
  }

  private async open(target: Peer): Promise<Socket> {
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: target.address, port: target.port }, () => resolve(s));
      s.once('error', reject);
    });
    this.adopt(sock, target);
    return sock;
  }

  /** An accepted connection: within the per-address and total limits, or closed at once. */
  private admit(sock: Socket): void {
    const address = (sock.remoteAddress ?? '').replace(/^::ffff:/, '');
    const mine = this.accepted.get(address) ?? 0;
    if (this.closed || mine >= this.limits.perAddress || this.acceptedTotal >= this.limits.total) {
      this.refusedConnections++;
      sock.on('error', () => {});
      sock.destroy();
      this.logRefusal(address, mine);
      return;
    }
    this.accepted.set(address, mine + 1);
    this.acceptedTotal++;
    sock.once('close', () => {
      this.acceptedTotal--;
      const left = (this.accepted.get(address) ?? 1) - 1;
      if (left > 0) this.accepted.set(address, left);
      else this.accepted.delete(address);
    });
    this.adopt(sock);
  }

  private logRefusal(address: string, mine: number): void {
    const now = Date.now();
    if (now - (this.refusalLogged.get(address) ?? -Infinity) < REFUSAL_LOG_MS) return;
    // Forget addresses logged long ago, so that the map stays small under a spread-out flood.
    if (this.refusalLogged.size >= 1000) {
      for (const [a, at] of this.refusalLogged)
        if (now - at >= REFUSAL_LOG_MS) this.refusalLogged.delete(a);
    }
    this.refusalLogged.set(address, now);
    this.opts.log.warn(
      {
        remote: address,
        fromAddress: mine,
        total: this.acceptedTotal,
        limits: { perAddress: this.limits.perAddress, total: this.limits.total },
        refused: this.refusedConnections,
      },
      'sip tcp connection refused: limit reached',
    );
  }

  /**
   * Frames a TCP byte stream by Content-Length (RFC 3261 18.3), with a bounded buffer. Deadlines
   * count from a message's first byte (from the connect, for the first message of an accepted
   * connection) and from the last whole message, so a trickle of bytes holds nothing open.
   */
  private adopt(sock: Socket, target?: Peer): void {
    const peer: Peer = target ?? {
      transport: 'tcp',
      address: sock.remoteAddress ?? '',
      port: sock.remotePort ?? 0,
    };
    this.connections.set(key(peer), sock);
    const { messageMs, idleMs } = this.limits;
    let partial: NodeJS.Timeout | null = null;
    let idle: NodeJS.Timeout | null = null;
    const drop = (why: string): void => {
      this.opts.log.debug({ from: peer, why }, 'sip tcp connection closed');
      sock.destroy();
    };
    const startPartial = (): void => {
      partial ??= setTimeout(() => drop('message not complete in time'), messageMs);
    };
    const whole = (): void => {
      if (partial) clearTimeout(partial);
      partial = null;
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => drop('idle'), idleMs);
    };
    whole();
    if (!target) startPartial();
    let buf: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        let skip = 0;
        while (skip < buf.length && (buf[skip] === 13 || buf[skip] === 10)) skip++;
        // A CRLF keepalive (RFC 5626 4.4.1) between messages counts as activity.
        if (skip > 0 && skip === buf.length && partial === null) whole();
        buf = buf.subarray(skip);
        if (buf.length === 0) break;
        startPartial();
        const end = findHeaderEnd(buf);
        if (!end) break;
        const m = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)/im.exec(
          buf.subarray(0, end.at).toString('latin1'),
        );
        if (!m) {
          // RFC 3261 18.3: Content-Length is mandatory on streams; the framing is lost.
          return drop('message without Content-Length');
        }
        const total = end.at + end.sep + Number(m[1]);
        if (total > LIMITS.maxMessageBytes) return drop('message too large');
        if (buf.length < total) break;
        const one = Buffer.from(buf.subarray(0, total));
        buf = buf.subarray(total);
        whole();
        this.receive(one, peer);
        if (sock.destroyed) return;
      }
      if (buf.length > LIMITS.maxMessageBytes) drop('buffer limit');
    };
    sock.on('data', (chunk: Buffer) => {
      try {
        onData(chunk);
      } catch (err) {
        this.opts.log.warn({ err, from: peer }, 'sip tcp framing failed, closing');
        sock.destroy();
      }
    });
    sock.on('error', (err) => this.opts.log.debug({ err, peer }, 'sip tcp error'));
    sock.on('close', () => {
      if (partial) clearTimeout(partial);
      if (idle) clearTimeout(idle);
      if (this.connections.get(key(peer)) === sock) this.connections.delete(key(peer));
    });
  }
}

/** RFC 3261 18.2.1 and RFC 3581 4: record where a request really came from in its top Via. */
function stampVia(req: SipRequest, source: Peer): void {
  const vias = getHeaders(req, 'via');
  const top = vias[0];
  if (top === undefined) return;
  let via;
  try {
    via = parseVia(top);
  } catch {
    return;
  }
  const hasRport = 'rport' in via.params;
  if (via.host.replace(/^\[|\]$/g, '') !== source.address || hasRport)
    via.params.received = source.address;
  if (hasRport) via.params.rport = String(source.port);
  setHeader(req, 'via', [formatVia(via), ...vias.slice(1)]);
}

function firstLine(data: Buffer): string {
  const text = data.toString('latin1', 0, Math.min(200, data.length));
  return text.slice(0, text.search(/\r?\n|$/));
}

function bindUdp(host: string, port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.once('error', reject);
    s.bind(port, host, () => {
      s.removeListener('error', reject);
      resolve(s);
    });
  });
}

function listenTcp(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(port, host, () => {
      srv.removeListener('error', reject);
      resolve(srv);
    });
  });
}
