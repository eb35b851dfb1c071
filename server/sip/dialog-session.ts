// A live dialog: what the telephony layer holds during a call or a subscription. Routes
// in-dialog requests to the app's handlers, retransmits its 2xx to INVITEs until the ACK
// (RFC 3261 13.3.1.4), and sends BYE, REFER and other in-dialog requests.
import {
  addHeader,
  getHeader,
  getHeaders,
  makeResponse,
  parseCSeq,
  setHeader,
  type SipRequest,
  type SipResponse,
} from './message.ts';
import { DialogState } from './dialog.ts';
import type { ServerTransaction } from './transaction.ts';
import type { Peer } from './transport.ts';
import {
  SipError,
  type Dialog,
  type IncomingRequest,
  type RequestBody,
  type ResponseOptions,
  type UaCore,
} from './api.ts';

/** What this UA answers; sent in Allow on OPTIONS and 405 (RFC 3261 20.5). */
export const ALLOW = 'INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, NOTIFY, SUBSCRIBE, REFER, MESSAGE';

/** A response to `req` with the options applied; `tag` is added to To when it has none. */
export function buildResponse(
  req: SipRequest,
  status: number,
  reason: string | undefined,
  tag: string,
  o: ResponseOptions = {},
): SipResponse {
  const res = makeResponse(req, status, reason, tag);
  for (const [name, value] of Object.entries(o.headers ?? {})) {
    if (Array.isArray(value)) for (const v of value) addHeader(res, name, v);
    else addHeader(res, name, value);
  }
  if (status === 405 && !getHeader(res, 'allow')) setHeader(res, 'allow', ALLOW);
  if (o.body !== undefined) {
    res.body = o.body;
    setHeader(res, 'content-type', o.contentType ?? 'text/plain');
  }
  return res;
}

/** The app's view of one request; answering twice is ignored (the first final response wins). */
export function incomingRequest(
  core: UaCore,
  req: SipRequest,
  source: Peer,
  st: ServerTransaction,
  tag: string,
  dialog?: SipDialog,
): IncomingRequest {
  const respond = (status: number, reason?: string, o?: ResponseOptions): void => {
    if (st.answered) return;
    st.respond(buildResponse(req, status, reason, tag, o));
  };
  return {
    request: req,
    source,
    respond,
    acceptDialog(status, o = {}) {
      if (dialog) {
        respond(status, undefined, o);
        return dialog;
      }
      const headers = { ...o.headers, contact: core.contact(source.transport) };
      const res = buildResponse(req, status, undefined, tag, { ...o, headers });
      const rr = getHeaders(req, 'record-route');
      if (rr.length) setHeader(res, 'record-route', rr);
      const made = new SipDialog(core, DialogState.fromUas(req, tag), source);
      if (!st.answered) st.respond(res);
      return made;
    },
  };
}

interface PendingAck {
  seq: number;
  timer: NodeJS.Timeout;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class SipDialog implements Dialog {
  readonly state: DialogState;
  private readonly core: UaCore;
  /** The connection the dialog was made on (TCP): in-dialog requests go back over it while open. */
  private readonly flow: Peer | undefined;
  private endedReason: string | null = null;
  private pendingAck: PendingAck | null = null;
  private byeHandler: ((req: IncomingRequest) => void) | null = null;
  private reinviteHandler: ((req: IncomingRequest, sdp: string) => string | null) | null = null;
  private requestHandler: ((req: IncomingRequest) => void) | null = null;
  private readonly endHandlers: ((reason: string) => void)[] = [];
  /** The last ACK we sent for a 2xx, re-sent when that 2xx is retransmitted. */
  lastAck: SipRequest | null = null;

  constructor(core: UaCore, state: DialogState, flow?: Peer) {
    this.core = core;
    this.state = state;
    this.flow = flow?.transport === 'tcp' ? flow : undefined;
    core.dialogs.set(state.key, this);
  }

  get callId(): string {
    return this.state.callId;
  }
  get localTag(): string {
    return this.state.localTag;
  }
  get remoteTag(): string {
    return this.state.remoteTag;
  }
  get remoteUri(): string {
    return this.state.remoteUri;
  }
  get ended(): boolean {
    return this.endedReason !== null;
  }

  onBye(cb: (req: IncomingRequest) => void): void {
    this.byeHandler = cb;
  }
  onReinvite(cb: (req: IncomingRequest, sdp: string) => string | null): void {
    this.reinviteHandler = cb;
  }
  onRequest(cb: (req: IncomingRequest) => void): void {
    this.requestHandler = cb;
  }
  onEnd(cb: (reason: string) => void): void {
    if (this.endedReason !== null) cb(this.endedReason);
    else this.endHandlers.push(cb);
  }

  terminate(reason = 'terminated'): void {
    if (this.endedReason !== null) return;
    this.endedReason = reason;
    this.core.dialogs.delete(this.state.key);
    if (this.pendingAck) {
      clearTimeout(this.pendingAck.timer);
      this.pendingAck.reject(new SipError(481, `dialog ended: ${reason}`));
      this.pendingAck = null;
    }
    for (const cb of this.endHandlers.splice(0)) {
      try {
        cb(reason);
      } catch (err) {
        this.core.log.error({ err }, 'sip dialog end handler threw');
      }
    }
  }

  /** Ends the dialog; never rejects: a BYE that cannot be built or sent is logged. */
  async bye(): Promise<void> {
    if (this.ended) return;
    const done = this.request('BYE').then(
      () => undefined,
      (err: unknown) =>
        this.core.log.warn({ err, callId: this.callId }, 'sip BYE not sent, dialog ended'),
    );
    this.terminate('local bye');
    await done;
  }

  refer(target: string): Promise<SipResponse> {
    return this.request('REFER', { headers: { 'refer-to': `<${target}>` } });
  }

  /** Rejects (never throws) when the request cannot be made: the dialog's data is unusable. */
  request(method: string, o: RequestBody = {}): Promise<SipResponse> {
    try {
      return this.send(method, o);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private send(method: string, o: RequestBody): Promise<SipResponse> {
    if (this.ended && method !== 'BYE')
      return Promise.reject(new SipError(481, 'dialog has ended'));
    const req = this.state.createRequest(method);
    for (const [name, value] of Object.entries(o.headers ?? {})) {
      for (const v of Array.isArray(value) ? value : [value]) addHeader(req, name, v);
    }
    if (o.body !== undefined) {
      req.body = o.body;
      setHeader(req, 'content-type', o.contentType ?? 'text/plain');
    }
    const target = this.core.targetFor(this.state.nextHop, this.flow);
    setHeader(req, 'contact', this.core.contact(target.transport));
    return new Promise((resolve) => {
      this.core.sendRequest(req, target, (res) => {
        if (res.status < 200) return;
        // RFC 3261 12.2.1.2: 481 and 408 end the dialog.
        if (res.status === 481 || res.status === 408) this.terminate(`${method} got ${res.status}`);
        resolve(res);
      });
    });
  }

  /** In-dialog requests (the UA checked the tags); the transaction layer absorbed retransmissions. */
  handleRequest(req: SipRequest, source: Peer, st: ServerTransaction): void {
    const ir = incomingRequest(this.core, req, source, st, this.state.localTag, this);
    if (!this.state.acceptRemoteSeq(req)) {
      ir.respond(500, 'CSeq Out of Order');
      return;
    }
    if (req.method === 'BYE') {
      if (this.byeHandler) this.byeHandler(ir);
      else ir.respond(200);
      this.terminate('remote bye');
      return;
    }
    if (req.method === 'INVITE') {
      this.handleReinvite(ir, st);
      return;
    }
    if (req.method === 'SUBSCRIBE' || req.method === 'NOTIFY') this.state.refreshTarget(req);
    if (this.requestHandler) this.requestHandler(ir);
    else ir.respond(req.method === 'INFO' ? 200 : 405);
  }

  private handleReinvite(ir: IncomingRequest, st: ServerTransaction): void {
    // RFC 3261 14.2: one INVITE at a time in a dialog; the peer retries after a random wait.
    if (this.pendingAck) {
      ir.respond(491);
      return;
    }
    const answer = this.reinviteHandler ? this.reinviteHandler(ir, ir.request.body) : null;
    if (st.answered) return;
    if (answer === null) {
      ir.respond(488);
      return;
    }
    this.state.refreshTarget(ir.request);
    this.sendReliable2xx(
      ir.request,
      st,
      buildResponse(ir.request, 200, undefined, this.state.localTag, {
        body: answer,
        contentType: 'application/sdp',
      }),
    ).catch((err: unknown) =>
      this.core.log.warn({ err, callId: this.callId }, 'sip re-INVITE 200 never acknowledged'),
    );
  }

  /**
   * Sends a 2xx to an INVITE and re-sends it (T1 doubling to T2) until the ACK; after 64*T1
   * without one, sends BYE and rejects (RFC 3261 13.3.1.4).
   */
  sendReliable2xx(req: SipRequest, st: ServerTransaction, res: SipResponse): Promise<void> {
    setHeader(res, 'contact', this.core.contact(st.source.transport));
    const rr = getHeaders(req, 'record-route');
    if (rr.length) setHeader(res, 'record-route', rr);
    const { t1, t2 } = this.core.timers;
    const seq = parseCSeq(getHeader(req, 'cseq') ?? '').seq;
    const started = Date.now();
    st.respond(res);
    return new Promise<void>((resolve, reject) => {
      // Over TCP too: a proxy on the way may forward the 2xx over UDP.
      let interval = t1;
      const giveUp = (err: Error): void => {
        if (this.pendingAck) clearTimeout(this.pendingAck.timer);
        this.pendingAck = null;
        reject(err);
        void this.bye();
      };
      const tick = (): void => {
        if (!this.pendingAck) return;
        if (Date.now() - started >= 64 * t1) return giveUp(new SipError(408, 'no ACK for the 2xx'));
        // Straight to the transport: the transaction only passes 2xx on while it is Accepted.
        this.core.transport.sendResponse(res, st.source);
        interval = Math.min(interval * 2, t2);
        this.pendingAck.timer = setTimeout(
          guarded,
          Math.min(interval, Math.max(0, 64 * t1 - (Date.now() - started))),
        );
      };
      // A timer's failure ends this call (the promise rejects, the dialog ends), not the process.
      const guarded = (): void => {
        try {
          tick();
        } catch (err) {
          this.core.log.error({ err, callId: this.callId }, 'sip 2xx retransmission failed');
          giveUp(err instanceof Error ? err : new Error(String(err)));
        }
      };
      this.pendingAck = { seq, timer: setTimeout(guarded, interval), resolve, reject };
    });
  }

  /** The ACK to one of our 2xx (its own transaction-less request). */
  handleAck(req: SipRequest): void {
    const { seq } = parseCSeq(getHeader(req, 'cseq') ?? '');
    if (!this.pendingAck || this.pendingAck.seq !== seq) return;
    clearTimeout(this.pendingAck.timer);
    const { resolve } = this.pendingAck;
    this.pendingAck = null;
    resolve();
  }

  /** A 2xx to our INVITE came again: its ACK was lost (RFC 3261 13.2.2.4). */
  resendAck(): void {
    if (this.lastAck)
      this.core.sendAck(this.lastAck, this.core.targetFor(this.state.nextHop, this.flow));
  }
}
