// Dialog state (RFC 3261 section 12): identifiers, CSeq on both sides, remote target and the
// route set. Pure: it builds requests and checks CSeqs, and sends nothing.
import {
  createRequest,
  getHeader,
  getHeaders,
  parseCSeq,
  parseNameAddr,
  parseUri,
  setHeader,
  tagOf,
  type SipRequest,
  type SipResponse,
} from './message.ts';

export const dialogKey = (callId: string, localTag: string, remoteTag: string): string =>
  `${callId}|${localTag}|${remoteTag}`;

export class DialogState {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** From (ours) and To (theirs) as written in in-dialog requests, tags included. */
  readonly localHeader: string;
  readonly remoteHeader: string;
  remoteTarget: string;
  readonly routeSet: readonly string[];
  localSeq: number;
  remoteSeq: number | null;

  private constructor(o: {
    callId: string;
    localTag: string;
    remoteTag: string;
    localHeader: string;
    remoteHeader: string;
    remoteTarget: string;
    routeSet: string[];
    localSeq: number;
    remoteSeq: number | null;
  }) {
    this.callId = o.callId;
    this.localTag = o.localTag;
    this.remoteTag = o.remoteTag;
    this.localHeader = o.localHeader;
    this.remoteHeader = o.remoteHeader;
    this.remoteTarget = o.remoteTarget;
    this.routeSet = o.routeSet;
    this.localSeq = o.localSeq;
    this.remoteSeq = o.remoteSeq;
  }

  /** RFC 3261 12.1.1: the UAS keeps Record-Route in order. `localTag` is the tag its response carries. */
  static fromUas(req: SipRequest, localTag: string): DialogState {
    const to = getHeader(req, 'to') ?? '';
    return new DialogState({
      callId: getHeader(req, 'call-id') ?? '',
      localTag,
      remoteTag: tagOf(getHeader(req, 'from')) ?? '',
      localHeader: tagOf(to) ? to : `${to};tag=${localTag}`,
      remoteHeader: getHeader(req, 'from') ?? '',
      remoteTarget: contactUri(req) ?? req.uri,
      routeSet: getHeaders(req, 'record-route'),
      // Our own requests start from a random CSeq, as RFC 3261 8.1.1.5 suggests.
      localSeq: Math.floor(Math.random() * 10_000) + 1,
      remoteSeq: parseCSeq(getHeader(req, 'cseq') ?? '').seq,
    });
  }

  /** RFC 3261 12.1.2: the UAC takes the route set from the response, reversed. */
  static fromUac(req: SipRequest, res: SipResponse): DialogState {
    const to = getHeader(res, 'to') ?? '';
    return new DialogState({
      callId: getHeader(req, 'call-id') ?? '',
      localTag: tagOf(getHeader(req, 'from')) ?? '',
      remoteTag: tagOf(to) ?? '',
      localHeader: getHeader(req, 'from') ?? '',
      remoteHeader: to,
      remoteTarget: contactUri(res) ?? req.uri,
      routeSet: [...getHeaders(res, 'record-route')].reverse(),
      localSeq: parseCSeq(getHeader(req, 'cseq') ?? '').seq,
      remoteSeq: null,
    });
  }

  get key(): string {
    return dialogKey(this.callId, this.localTag, this.remoteTag);
  }

  /** The remote party's address-of-record (the From of a UAS dialog, the To of a UAC one). */
  get remoteUri(): string {
    return parseNameAddr(this.remoteHeader).uri;
  }

  /**
   * RFC 3261 12.2.1.1: Request-URI and Route. With a loose first route (`;lr`) the Request-URI
   * is the remote target; with a strict one, the first route becomes the Request-URI.
   */
  createRequest(method: string, o: { seq?: number } = {}): SipRequest {
    const first = this.routeSet[0];
    const strict = first !== undefined && !('lr' in parseUri(parseNameAddr(first).uri).params);
    const req = createRequest(method, strict ? parseNameAddr(first).uri : this.remoteTarget);
    const routes = strict
      ? [...this.routeSet.slice(1), `<${this.remoteTarget}>`]
      : [...this.routeSet];
    if (routes.length) setHeader(req, 'route', routes);
    setHeader(req, 'max-forwards', '70');
    setHeader(req, 'from', this.localHeader);
    setHeader(req, 'to', this.remoteHeader);
    setHeader(req, 'call-id', this.callId);
    // ACK and CANCEL reuse the INVITE's number; everything else takes the next one.
    const seq = o.seq ?? ++this.localSeq;
    setHeader(req, 'cseq', `${seq} ${method}`);
    return req;
  }

  /** Where an in-dialog request is sent first: the first route, else the remote target. */
  get nextHop(): string {
    const first = this.routeSet[0];
    return first !== undefined ? parseNameAddr(first).uri : this.remoteTarget;
  }

  /**
   * RFC 3261 12.2.2: a request whose CSeq is lower than the last one is out of order (answer
   * 500). ACK and CANCEL carry the INVITE's number and do not move it.
   */
  acceptRemoteSeq(req: SipRequest): boolean {
    const { seq, method } = parseCSeq(getHeader(req, 'cseq') ?? '');
    if (method === 'ACK' || method === 'CANCEL') return true;
    if (this.remoteSeq !== null && seq <= this.remoteSeq) return false;
    this.remoteSeq = seq;
    return true;
  }

  /** A target refresh (re-INVITE, in-dialog SUBSCRIBE) may move the remote target. */
  refreshTarget(msg: SipRequest | SipResponse): void {
    this.remoteTarget = contactUri(msg) ?? this.remoteTarget;
  }
}

function contactUri(msg: SipRequest | SipResponse): string | undefined {
  const c = getHeaders(msg, 'contact')[0];
  if (!c || c.trim() === '*') return undefined;
  return parseNameAddr(c).uri;
}
