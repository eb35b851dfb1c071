// The user agent core (RFC 3261 section 8, 12-15): owns the transport and transaction layer,
// routes each request to its dialog or to the app's hooks, and starts outgoing requests.
// It never decides what a call means: the telephony layer wires onInvite and onRequest.
import {
  formatVia,
  getHeader,
  getHeaders,
  newBranch,
  newTag,
  parseUri,
  setHeader,
  tagOf,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from './message.ts';
import { Transport, type Peer, type TransportName } from './transport.ts';
import {
  DEFAULT_TIMERS,
  TransactionLayer,
  type ClientTransaction,
  type ServerTransaction,
  type Timers,
} from './transaction.ts';
import { dialogKey } from './dialog.ts';
import type { SipDialog } from './dialog-session.ts';
import { ALLOW, buildResponse, incomingRequest } from './dialog-session.ts';
import { PendingInvite } from './incoming-invite.ts';
import { buildRequest, sendInvite, sendWithAuth } from './outgoing.ts';
import { Registration } from './registration.ts';
import type {
  IncomingInvite,
  IncomingRequest,
  InviteOptions,
  OutgoingInvite,
  RegisterOptions,
  RequestOptions,
  SipLog,
  UaCore,
  UserAgentOptions,
} from './api.ts';

export type * from './api.ts';
export { SipError } from './api.ts';
export { Registration, type RegistrationState } from './registration.ts';
export type { SipRequest, SipResponse } from './message.ts';

/** Methods we know; any other gets 501 rather than 405 (RFC 3261 8.2.1). */
const KNOWN = new Set([
  'INVITE',
  'ACK',
  'BYE',
  'CANCEL',
  'OPTIONS',
  'REGISTER',
  'SUBSCRIBE',
  'NOTIFY',
  'MESSAGE',
  'INFO',
  'REFER',
  'UPDATE',
  'PRACK',
  'PUBLISH',
]);

export class UserAgent implements UaCore {
  readonly port: number;
  readonly tcpPort: number | null;
  readonly log: SipLog;
  readonly timers: Timers;
  readonly layer: TransactionLayer;
  readonly transport: Transport;
  readonly dialogs = new Map<string, SipDialog>();
  readonly userAgent: string;
  readonly host: string;
  /** A dialog-creating INVITE. Default: 480. */
  onInvite: (invite: IncomingInvite) => void = (invite) => invite.reject(480);
  /** Any other out-of-dialog request but OPTIONS. Default: 405 for known methods, else 501. */
  onRequest: (req: IncomingRequest) => void = (req) =>
    req.respond(KNOWN.has(req.request.method) ? 405 : 501);
  private readonly invites = new WeakMap<ServerTransaction, PendingInvite>();
  private readonly registrations = new Set<Registration>();

  private constructor(opts: UserAgentOptions, transport: Transport) {
    this.log = opts.log;
    this.transport = transport;
    this.port = transport.port;
    this.tcpPort = transport.tcpPort;
    this.userAgent = opts.userAgent;
    this.host = opts.publicHost ?? opts.host;
    this.timers = { ...DEFAULT_TIMERS, ...opts.timers };
    this.layer = new TransactionLayer(transport, this.timers, this.log, {
      onRequest: (req, source, st) => this.dispatch(req, source, st),
      onStrayResponse: (res) => this.strayResponse(res),
    });
  }

  /** Binds and starts answering; bind errors keep their errno `code` (EADDRINUSE...). */
  static async start(opts: UserAgentOptions): Promise<UserAgent> {
    let ua: UserAgent | null = null;
    const transport = await Transport.start({
      host: opts.host,
      port: opts.port,
      tcp: opts.tcp,
      log: opts.log,
      tcpLimits: opts.tcpLimits,
      onMessage: (msg: SipMessage, source: Peer) => ua?.layer.handle(msg, source),
    });
    ua = new UserAgent(opts, transport);
    return ua;
  }

  /** Sends a BYE in every dialog; resolves when each is answered or failed (each ends at once). */
  async hangUpAll(): Promise<void> {
    await Promise.all([...this.dialogs.values()].map((d) => d.bye()));
  }

  /** Ends every dialog, transaction, registration timer and socket, sending nothing. */
  async close(): Promise<void> {
    for (const r of this.registrations) r.halt();
    for (const d of [...this.dialogs.values()]) d.terminate('closed');
    this.layer.close();
    await this.transport.close();
  }

  invite(o: InviteOptions): OutgoingInvite {
    return sendInvite(this, o);
  }

  /** An out-of-dialog non-INVITE (an unsolicited NOTIFY, a MESSAGE...); resolves with the final response. */
  request(o: RequestOptions): Promise<SipResponse> {
    const req = buildRequest(this, o);
    return sendWithAuth(this, req, o.credentials, o.proxy ?? o.uri);
  }

  register(o: RegisterOptions): Registration {
    const r = new Registration(this, o);
    this.registrations.add(r);
    r.onStop = () => this.registrations.delete(r);
    return r;
  }

  // ---- UaCore ------------------------------------------------------------------------------

  contact(transport: TransportName, user?: string): string {
    const port = transport === 'tcp' ? (this.tcpPort ?? this.port) : this.port;
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `<sip:${user ? `${user}@` : ''}${host}:${port}${transport === 'tcp' ? ';transport=tcp' : ''}>`;
  }

  targetFor(uri: string, flow?: Peer): Peer {
    if (flow && this.transport.hasConnection(flow)) return flow;
    const u = parseUri(uri);
    const transport: TransportName = u.params.transport?.toLowerCase() === 'tcp' ? 'tcp' : 'udp';
    return { transport, address: u.host.replace(/^\[|\]$/g, ''), port: u.port ?? 5060 };
  }

  sendRequest(
    req: SipRequest,
    target: Peer,
    onResponse: (res: SipResponse) => void,
  ): ClientTransaction {
    this.stamp(req, target);
    return this.layer.sendRequest(req, target, { onResponse });
  }

  sendAck(ack: SipRequest, target: Peer): void {
    const copy: SipRequest = { ...ack, headers: new Map(ack.headers) };
    copy.headers.delete('via');
    this.stamp(copy, target);
    this.transport
      .send(copy, target)
      .catch((err: unknown) => this.log.debug({ err }, 'sip ACK not sent'));
  }

  private stamp(req: SipRequest, target: Peer): void {
    const port = target.transport === 'tcp' ? (this.tcpPort ?? this.port) : this.port;
    const via = formatVia({
      transport: target.transport.toUpperCase(),
      host: this.host,
      port,
      params: { branch: newBranch(), rport: null },
    });
    setHeader(req, 'via', [via, ...getHeaders(req, 'via')]);
    if (!getHeader(req, 'max-forwards')) setHeader(req, 'max-forwards', '70');
    if (!getHeader(req, 'user-agent')) setHeader(req, 'user-agent', this.userAgent);
  }

  // ---- dispatch ----------------------------------------------------------------------------

  private dispatch(req: SipRequest, source: Peer, st: ServerTransaction | null): void {
    const callId = getHeader(req, 'call-id') ?? '';
    const toTag = tagOf(getHeader(req, 'to'));
    const fromTag = tagOf(getHeader(req, 'from')) ?? '';
    if (!st) {
      // The ACK to a 2xx: it belongs to a dialog, never to a transaction.
      if (toTag) this.dialogs.get(dialogKey(callId, toTag, fromTag))?.handleAck(req);
      return;
    }
    const respond = (status: number, reason?: string, headers?: Record<string, string>): void =>
      st.respond(buildResponse(req, status, reason, toTag ?? newTag(), { headers }));
    if (req.method === 'CANCEL') {
      const invite = this.layer.findInvite(req);
      if (!invite) return respond(481);
      respond(200);
      this.invites.get(invite)?.cancel();
      return;
    }
    const required = getHeaders(req, 'require');
    if (required.length) return respond(420, 'Bad Extension', { unsupported: required.join(', ') });
    if (toTag) {
      const dialog = this.dialogs.get(dialogKey(callId, toTag, fromTag));
      if (!dialog) return respond(481);
      dialog.handleRequest(req, source, st);
      return;
    }
    if (req.method === 'INVITE') {
      const invite = new PendingInvite(this, req, source, st);
      this.invites.set(st, invite);
      this.guard(
        () => this.onInvite(invite),
        () => invite.reject(500),
      );
      return;
    }
    if (req.method === 'OPTIONS') {
      const headers = { allow: ALLOW, accept: 'application/sdp' };
      st.respond(buildResponse(req, 200, undefined, newTag(), { headers }));
      return;
    }
    if (req.method === 'BYE') return respond(481);
    const ir = incomingRequest(this, req, source, st, newTag());
    this.guard(
      () => this.onRequest(ir),
      () => ir.respond(500),
    );
  }

  /** Runs an app hook; a throw becomes a 500 and a log line, never a dead socket handler. */
  private guard(fn: () => void, onError: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, 'sip handler threw');
      onError();
    }
  }

  private strayResponse(res: SipResponse): void {
    const method = (getHeader(res, 'cseq') ?? '').split(/\s+/)[1];
    if (method === 'INVITE' && res.status >= 200 && res.status < 300) {
      const key = dialogKey(
        getHeader(res, 'call-id') ?? '',
        tagOf(getHeader(res, 'from')) ?? '',
        tagOf(getHeader(res, 'to')) ?? '',
      );
      this.dialogs.get(key)?.resendAck();
      return;
    }
    this.log.debug({ status: res.status, method }, 'sip stray response dropped');
  }
}
