// RFC 3261 section 17 transactions (with RFC 6026's Accepted state), INVITE and non-INVITE,
// client and server. States and their allowed moves are data; `move()` checks them in one place.
import {
  createRequest,
  getHeader,
  getHeaders,
  makeResponse,
  parseCSeq,
  parseVia,
  setHeader,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from './message.ts';
import type { Peer, Transport } from './transport.ts';
import type { SipLog } from './log.ts';

export interface Timers {
  t1: number;
  t2: number;
  t4: number;
}
export const DEFAULT_TIMERS: Timers = { t1: 500, t2: 4000, t4: 5000 };

const CLIENT = {
  calling: ['proceeding', 'completed', 'accepted', 'terminated'],
  trying: ['proceeding', 'completed', 'terminated'],
  proceeding: ['proceeding', 'completed', 'accepted', 'terminated'],
  completed: ['terminated'],
  accepted: ['terminated'],
  terminated: [],
} as const;
export type ClientState = keyof typeof CLIENT;

const SERVER = {
  trying: ['proceeding', 'completed', 'terminated'],
  proceeding: ['proceeding', 'completed', 'accepted', 'terminated'],
  completed: ['confirmed', 'terminated'],
  confirmed: ['terminated'],
  accepted: ['terminated'],
  terminated: [],
} as const;
export type ServerState = keyof typeof SERVER;

function move<S extends string>(table: Record<S, readonly S[]>, from: S, to: S): S {
  if (!table[from].includes(to)) throw new Error(`transaction cannot go from ${from} to ${to}`);
  return to;
}

/**
 * A small named-timer set, so that every exit path can clear them all. A timer's work that
 * throws ends its transaction (`onError`), logged, never the process.
 */
class TimerSet {
  private readonly running = new Map<string, NodeJS.Timeout>();
  private readonly onError: (err: unknown, timer: string) => void;
  constructor(onError: (err: unknown, timer: string) => void) {
    this.onError = onError;
  }
  set(name: string, ms: number, fn: () => void): void {
    this.clear(name);
    this.running.set(
      name,
      setTimeout(() => {
        this.running.delete(name);
        try {
          fn();
        } catch (err) {
          this.onError(err, name);
        }
      }, ms),
    );
  }
  clear(name: string): void {
    clearTimeout(this.running.get(name));
    this.running.delete(name);
  }
  clearAll(): void {
    for (const t of this.running.values()) clearTimeout(t);
    this.running.clear();
  }
}

const branchOf = (msg: SipMessage): string => {
  const top = getHeaders(msg, 'via')[0];
  if (!top) return '';
  const via = parseVia(top);
  return via.params.branch ?? '';
};
const methodOf = (msg: SipMessage): string => parseCSeq(getHeader(msg, 'cseq') ?? '').method;

/** RFC 3261 17.2.3: branch plus sent-by plus method, ACK counted as INVITE. */
function serverKey(req: SipRequest, method = req.method === 'ACK' ? 'INVITE' : req.method): string {
  const top = parseVia(getHeaders(req, 'via')[0] ?? '');
  const sentBy = `${top.host}:${top.port ?? ''}`;
  const branch = top.params.branch ?? '';
  if (branch.startsWith('z9hG4bK')) return `${branch}|${sentBy}|${method}`;
  // RFC 2543 peers: no unique branch, fall back to the dialog-ish identifiers.
  const cseq = parseCSeq(getHeader(req, 'cseq') ?? '').seq;
  return `${getHeader(req, 'call-id')}|${getHeader(req, 'from')}|${cseq}|${sentBy}|${method}`;
}

export interface ClientHandlers {
  /** Every response; a timeout is reported as 408 and a transport failure as 503 (RFC 3261 8.1.3.1). */
  onResponse(res: SipResponse): void;
}

export class ClientTransaction {
  state: ClientState;
  readonly request: SipRequest;
  readonly target: Peer;
  readonly key: string;
  private readonly layer: TransactionLayer;
  private readonly handlers: ClientHandlers;
  private readonly timers = new TimerSet((err, timer) => {
    this.layer.log.error({ err, timer, method: this.request.method }, 'sip client timer failed');
    this.terminate();
  });
  private ack: SipRequest | null = null;

  constructor(
    layer: TransactionLayer,
    request: SipRequest,
    target: Peer,
    handlers: ClientHandlers,
  ) {
    this.layer = layer;
    this.request = request;
    this.target = target;
    this.handlers = handlers;
    this.key = `${branchOf(request)}|${request.method}`;
    this.state = request.method === 'INVITE' ? 'calling' : 'trying';
  }

  get isInvite(): boolean {
    return this.request.method === 'INVITE';
  }

  start(): void {
    const { t1, t2 } = this.layer.timers;
    this.transmit();
    if (this.target.transport === 'udp') {
      // Timers A (INVITE, doubling without cap) and E (non-INVITE, capped at T2).
      let interval = t1;
      const again = (): void => {
        this.transmit();
        interval = this.isInvite ? interval * 2 : Math.min(interval * 2, t2);
        if (!this.isInvite && this.state === 'proceeding') interval = t2;
        this.timers.set('retransmit', interval, again);
      };
      this.timers.set('retransmit', interval, again);
    }
    // Timers B and F.
    this.timers.set('timeout', 64 * t1, () => this.fail(408, 'Request Timeout'));
  }

  receive(res: SipResponse): void {
    if (this.state === 'terminated') return;
    if (res.status < 200) {
      if (this.state === 'completed' || this.state === 'accepted') return;
      this.state = move(CLIENT, this.state, 'proceeding');
      // An INVITE stops retransmitting once anything came back, and may then ring for as long
      // as the callee likes (Timer B runs only while Calling); a non-INVITE goes on at T2.
      if (this.isInvite) {
        this.timers.clear('retransmit');
        this.timers.clear('timeout');
      }
      this.handlers.onResponse(res);
      return;
    }
    if (this.isInvite && res.status < 300) {
      // RFC 6026: stay to pass retransmitted 2xx to the TU, which re-sends its ACK (Timer M).
      if (this.state !== 'accepted') {
        this.state = move(CLIENT, this.state, 'accepted');
        this.timers.clearAll();
        this.timers.set('M', 64 * this.layer.timers.t1, () => this.terminate());
      }
      this.handlers.onResponse(res);
      return;
    }
    if (this.state === 'completed') {
      if (this.ack) this.send(this.ack);
      return;
    }
    if (this.state === 'accepted') return;
    this.state = move(CLIENT, this.state, 'completed');
    this.timers.clearAll();
    const reliable = this.target.transport !== 'udp';
    if (this.isInvite) {
      this.ack = ackForNon2xx(this.request, res);
      this.send(this.ack);
      // Timer D absorbs retransmitted finals.
      this.timers.set('D', reliable ? 0 : Math.max(32_000, 64 * this.layer.timers.t1), () =>
        this.terminate(),
      );
    } else {
      this.timers.set('K', reliable ? 0 : this.layer.timers.t4, () => this.terminate());
    }
    this.handlers.onResponse(res);
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.timers.clearAll();
    this.layer.forgetClient(this);
  }

  private fail(status: number, reason: string): void {
    if (this.state === 'terminated' || this.state === 'completed' || this.state === 'accepted')
      return;
    this.terminate();
    this.handlers.onResponse(makeResponse(this.request, status, reason));
  }

  private transmit(): void {
    this.send(this.request);
  }

  private send(msg: SipRequest): void {
    this.layer.transport
      .send(msg, this.target)
      .catch((err: unknown) => {
        this.layer.log.debug({ err, target: this.target }, 'sip request not sent');
        this.fail(503, 'Service Unavailable');
      })
      .catch((err: unknown) => this.layer.log.error({ err }, 'sip transport failure not handled'));
  }
}

/** RFC 3261 17.1.1.3: the ACK to a non-2xx final shares the INVITE's branch. */
export function ackForNon2xx(invite: SipRequest, res: SipResponse): SipRequest {
  const ack = createRequest('ACK', invite.uri);
  setHeader(ack, 'via', getHeaders(invite, 'via').slice(0, 1));
  for (const name of ['route', 'max-forwards', 'from', 'call-id']) {
    const v = getHeaders(invite, name);
    if (v.length) setHeader(ack, name, v);
  }
  setHeader(ack, 'to', getHeader(res, 'to') ?? '');
  setHeader(ack, 'cseq', `${parseCSeq(getHeader(invite, 'cseq') ?? '').seq} ACK`);
  return ack;
}

/** RFC 3261 9.1: a CANCEL copies the INVITE's Request-URI, top Via, From, To, Call-ID and Route. */
export function cancelFor(invite: SipRequest): SipRequest {
  const cancel = createRequest('CANCEL', invite.uri);
  setHeader(cancel, 'via', getHeaders(invite, 'via').slice(0, 1));
  for (const name of ['route', 'max-forwards', 'from', 'to', 'call-id']) {
    const v = getHeaders(invite, name);
    if (v.length) setHeader(cancel, name, v);
  }
  setHeader(cancel, 'cseq', `${parseCSeq(getHeader(invite, 'cseq') ?? '').seq} CANCEL`);
  return cancel;
}

export class ServerTransaction {
  state: ServerState;
  readonly request: SipRequest;
  readonly source: Peer;
  readonly key: string;
  lastResponse: SipResponse | null = null;
  private readonly layer: TransactionLayer;
  private readonly timers = new TimerSet((err, timer) => {
    this.layer.log.error({ err, timer, method: this.request.method }, 'sip server timer failed');
    this.terminate();
  });

  constructor(layer: TransactionLayer, request: SipRequest, source: Peer) {
    this.layer = layer;
    this.request = request;
    this.source = source;
    this.key = serverKey(request);
    this.state = request.method === 'INVITE' ? 'proceeding' : 'trying';
  }

  get isInvite(): boolean {
    return this.request.method === 'INVITE';
  }

  /** Has a final response gone out? */
  get answered(): boolean {
    return this.lastResponse !== null && this.lastResponse.status >= 200;
  }

  respond(res: SipResponse): void {
    if (this.state === 'terminated' || this.state === 'confirmed' || this.state === 'completed')
      return;
    if (this.state === 'accepted') {
      // RFC 6026 8.5: the TU's 2xx retransmissions pass through.
      if (res.status >= 200 && res.status < 300) this.send(res);
      return;
    }
    this.lastResponse = res;
    this.send(res);
    const { t1, t2 } = this.layer.timers;
    const reliable = this.source.transport !== 'udp';
    if (res.status < 200) {
      this.state = move(SERVER, this.state, 'proceeding');
    } else if (this.isInvite && res.status < 300) {
      this.state = move(SERVER, this.state, 'accepted');
      this.timers.set('L', 64 * t1, () => this.terminate());
    } else if (this.isInvite) {
      this.state = move(SERVER, this.state, 'completed');
      if (!reliable) {
        // Timer G: resend the final, doubling up to T2, until the ACK.
        let interval = t1;
        const again = (): void => {
          this.send(res);
          interval = Math.min(interval * 2, t2);
          this.timers.set('G', interval, again);
        };
        this.timers.set('G', interval, again);
      }
      // Timer H: give up on the ACK.
      this.timers.set('H', 64 * t1, () => {
        this.layer.log.debug(
          { callId: getHeader(this.request, 'call-id') },
          'sip no ACK for final response',
        );
        this.terminate();
      });
    } else {
      this.state = move(SERVER, this.state, 'completed');
      this.timers.set('J', reliable ? 0 : 64 * t1, () => this.terminate());
    }
  }

  /** A retransmitted request gets the last response again (RFC 3261 17.2.1, 17.2.2). */
  retransmitted(): void {
    if ((this.state === 'proceeding' || this.state === 'completed') && this.lastResponse)
      this.send(this.lastResponse);
  }

  /** The ACK for a non-2xx final (same branch). */
  acked(): void {
    if (this.state !== 'completed' || !this.isInvite) return;
    this.state = move(SERVER, this.state, 'confirmed');
    this.timers.clearAll();
    this.timers.set('I', this.source.transport === 'udp' ? this.layer.timers.t4 : 0, () =>
      this.terminate(),
    );
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.timers.clearAll();
    this.layer.forgetServer(this);
  }

  private send(res: SipResponse): void {
    this.layer.transport.sendResponse(res, this.source);
  }
}

export interface TransactionUser {
  /** A new request; `st` is null only for an ACK no transaction absorbed (the ACK to a 2xx). */
  onRequest(req: SipRequest, source: Peer, st: ServerTransaction | null): void;
  /** A response no client transaction matched: a retransmitted 2xx to an INVITE, usually. */
  onStrayResponse(res: SipResponse, source: Peer): void;
}

export class TransactionLayer {
  readonly transport: Transport;
  readonly timers: Timers;
  readonly log: SipLog;
  private readonly tu: TransactionUser;
  private readonly clients = new Map<string, ClientTransaction>();
  private readonly servers = new Map<string, ServerTransaction>();

  constructor(transport: Transport, timers: Timers, log: SipLog, tu: TransactionUser) {
    this.transport = transport;
    this.timers = timers;
    this.log = log;
    this.tu = tu;
  }

  sendRequest(req: SipRequest, target: Peer, handlers: ClientHandlers): ClientTransaction {
    const ct = new ClientTransaction(this, req, target, handlers);
    this.clients.set(ct.key, ct);
    ct.start();
    return ct;
  }

  /** The INVITE server transaction a CANCEL (same branch and sent-by) refers to. */
  findInvite(cancel: SipRequest): ServerTransaction | undefined {
    return this.servers.get(serverKey(cancel, 'INVITE'));
  }

  handle(msg: SipMessage, source: Peer): void {
    if (msg.kind === 'response') {
      const ct = this.clients.get(`${branchOf(msg)}|${methodOf(msg)}`);
      if (ct) ct.receive(msg);
      else this.tu.onStrayResponse(msg, source);
      return;
    }
    const existing = this.servers.get(serverKey(msg));
    if (msg.method === 'ACK') {
      if (existing && existing.state !== 'accepted') existing.acked();
      else this.tu.onRequest(msg, source, null);
      return;
    }
    if (existing) {
      existing.retransmitted();
      return;
    }
    const st = new ServerTransaction(this, msg, source);
    this.servers.set(st.key, st);
    // RFC 3261 17.2.1: 100 Trying at once keeps the caller from retransmitting.
    if (msg.method === 'INVITE') st.respond(makeResponse(msg, 100));
    this.tu.onRequest(msg, source, st);
  }

  forgetClient(ct: ClientTransaction): void {
    if (this.clients.get(ct.key) === ct) this.clients.delete(ct.key);
  }

  forgetServer(st: ServerTransaction): void {
    if (this.servers.get(st.key) === st) this.servers.delete(st.key);
  }

  /** Ends every transaction (shutdown). */
  close(): void {
    for (const ct of [...this.clients.values()]) ct.terminate();
    for (const st of [...this.servers.values()]) st.terminate();
  }
}
