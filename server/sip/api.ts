// The shapes the telephony layer sees, and the small core the UA's parts share.
import type { SipLog } from './log.ts';
import type { SipRequest, SipResponse } from './message.ts';
import type { Credentials } from './digest.ts';
import type {
  ClientTransaction,
  ServerTransaction,
  Timers,
  TransactionLayer,
} from './transaction.ts';
import type { Peer, TcpLimits, Transport, TransportName } from './transport.ts';

export type { SipLog, Credentials, Peer, TcpLimits };

export interface UserAgentOptions {
  host: string;
  port: number;
  tcp: boolean;
  /** Written in Via and Contact; default the bound address. */
  publicHost?: string;
  userAgent: string;
  timers?: { t1?: number; t2?: number; t4?: number };
  /** Limits on TCP connections accepted (defaults: DEFAULT_TCP_LIMITS in transport.ts). */
  tcpLimits?: Partial<TcpLimits>;
  log: SipLog;
}

export interface ResponseOptions {
  headers?: Record<string, string | string[]>;
  body?: string;
  contentType?: string;
}

export interface IncomingRequest {
  request: SipRequest;
  source: Peer;
  respond(status: number, reason?: string, o?: ResponseOptions): void;
  /** Answers (2xx) and makes a dialog of it, for SUBSCRIBE. */
  acceptDialog(status: number, o?: ResponseOptions): Dialog;
}

export interface IncomingInvite {
  request: SipRequest;
  source: Peer;
  progress(status?: number): void;
  accept(sdp: string, o?: { headers?: Record<string, string | string[]> }): Promise<Dialog>;
  reject(status: number, reason?: string, o?: ResponseOptions): void;
  readonly cancelled: boolean;
  onCancel(cb: () => void): void;
}

export interface Dialog {
  callId: string;
  localTag: string;
  remoteTag: string;
  remoteUri: string;
  readonly ended: boolean;
  onBye(cb: (req: IncomingRequest) => void): void;
  onReinvite(cb: (req: IncomingRequest, sdp: string) => string | null): void;
  onRequest(cb: (req: IncomingRequest) => void): void;
  onEnd(cb: (reason: string) => void): void;
  bye(): Promise<void>;
  refer(target: string): Promise<SipResponse>;
  request(method: string, o?: RequestBody): Promise<SipResponse>;
  /** Forgets the dialog without sending anything (a subscription that expired). */
  terminate(reason?: string): void;
}

export interface RequestBody {
  headers?: Record<string, string | string[]>;
  body?: string;
  contentType?: string;
}

export interface InviteOptions {
  uri: string;
  /** A SIP URI or a name-addr. */
  from: string;
  to?: string;
  /** Default a fresh random one. */
  callId?: string;
  sdp: string;
  /** The next hop's URI; with `;lr` it is also sent as a Route (a preloaded route set). */
  proxy?: string;
  credentials?: Credentials;
  headers?: Record<string, string>;
  onProgress?: (res: SipResponse) => void;
}

export interface OutgoingInvite {
  /** Resolves once the ACK to the 2xx has been sent; rejects with a SipError (.status). */
  done: Promise<{ dialog: Dialog; response: SipResponse }>;
  cancel(): void;
}

export interface RequestOptions {
  method: string;
  uri: string;
  from: string;
  to?: string;
  callId?: string;
  headers?: Record<string, string>;
  body?: string;
  contentType?: string;
  proxy?: string;
  credentials?: Credentials;
}

export interface RegisterOptions {
  registrar: string;
  aor: string;
  credentials?: Credentials;
  /** Seconds asked for. */
  expires: number;
  proxy?: string;
  /** Back-off after a failure, in seconds: doubling from min to max. Default 30 to 600. */
  retry?: { min: number; max: number };
}

/** A final failure of a request we sent; `status` is the SIP status (408 for a timeout). */
export class SipError extends Error {
  readonly code = 'SIP_FAILED';
  readonly status: number;
  readonly response: SipResponse | undefined;
  constructor(status: number, message: string, response?: SipResponse) {
    super(message);
    this.status = status;
    this.response = response;
  }
}

/**
 * What the UA's table of live dialogs needs of one: `SipDialog` (dialog-session.ts) is one.
 * Declared here so this file never imports dialog-session.ts, which imports it.
 */
export interface LiveDialog {
  handleRequest(req: SipRequest, source: Peer, st: ServerTransaction): void;
  handleAck(ack: SipRequest): void;
  resendAck(): void;
  terminate(reason: string): void;
}

/** What the UA's parts (dialogs, incoming and outgoing requests, registrations) share. */
export interface UaCore {
  readonly log: SipLog;
  readonly timers: Timers;
  readonly layer: TransactionLayer;
  readonly transport: Transport;
  readonly dialogs: Map<string, LiveDialog>;
  readonly userAgent: string;
  readonly host: string;
  /** `<sip:[user@]host:port[;transport=tcp]>` for our Contact. */
  contact(transport: TransportName, user?: string): string;
  /** Where a request for `uri` goes; an open `flow` (the TCP connection a dialog came on) wins. */
  targetFor(uri: string, flow?: Peer): Peer;
  /** Adds our Via (new branch), Max-Forwards and User-Agent, and starts a client transaction. */
  sendRequest(
    req: SipRequest,
    target: Peer,
    onResponse: (res: SipResponse) => void,
  ): ClientTransaction;
  /** The ACK to a 2xx: its own branch, no transaction (RFC 3261 13.2.2.4). */
  sendAck(ack: SipRequest, target: Peer): void;
}
