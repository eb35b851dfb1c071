// Requests we start outside a dialog: building them, answering one digest challenge, and
// the INVITE client side (ACK to the 2xx, CANCEL once something provisional came back).
import {
  addHeader,
  createRequest,
  getHeader,
  makeResponse,
  newCallId,
  newTag,
  parseNameAddr,
  parseUri,
  setHeader,
  type SipRequest,
  type SipResponse,
} from './message.ts';
import { authorize, type Credentials } from './digest.ts';
import { DialogState } from './dialog.ts';
import { SipDialog } from './dialog-session.ts';
import { cancelFor, type ClientTransaction } from './transaction.ts';
import {
  SipError,
  type Dialog,
  type InviteOptions,
  type OutgoingInvite,
  type UaCore,
} from './api.ts';

export interface OutOfDialog {
  method: string;
  uri: string;
  from: string;
  to?: string;
  callId?: string;
  fromTag?: string;
  seq?: number;
  headers?: Record<string, string>;
  body?: string;
  contentType?: string;
  proxy?: string;
}

/** `sip:a@h` or a name-addr, as a name-addr with the header params it already had. */
function asNameAddr(s: string, tag?: string): string {
  const n = parseNameAddr(s);
  if (tag) n.params.tag = tag;
  const display = n.display ? `"${n.display}" ` : '';
  const params = Object.entries(n.params)
    .map(([k, v]) => (v === null ? `;${k}` : `;${k}=${v}`))
    .join('');
  return `${display}<${n.uri}>${params}`;
}

export function buildRequest(core: UaCore, o: OutOfDialog): SipRequest {
  const req = createRequest(o.method, o.uri);
  // An outbound proxy named with `;lr` is a preloaded route (RFC 3261 8.1.2); otherwise it is
  // only where the request is sent.
  if (o.proxy && 'lr' in parseUri(o.proxy).params) setHeader(req, 'route', `<${o.proxy}>`);
  setHeader(req, 'from', asNameAddr(o.from, o.fromTag ?? newTag()));
  setHeader(req, 'to', asNameAddr(o.to ?? o.uri));
  setHeader(req, 'call-id', o.callId ?? newCallId(core.host));
  setHeader(req, 'cseq', `${o.seq ?? 1} ${o.method}`);
  for (const [name, value] of Object.entries(o.headers ?? {})) addHeader(req, name, value);
  if (o.body !== undefined) {
    req.body = o.body;
    setHeader(req, 'content-type', o.contentType ?? 'text/plain');
  }
  return req;
}

/** The same request again with the next CSeq and credentials for `challenge`, or null. */
export function withAuth(
  req: SipRequest,
  challenge: SipResponse,
  creds: Credentials | undefined,
): SipRequest | null {
  if (!creds || (challenge.status !== 401 && challenge.status !== 407)) return null;
  const auth = authorize(challenge, req, creds);
  if (!auth) return null;
  const next: SipRequest = { ...req, headers: new Map(req.headers) };
  next.headers.delete('via');
  const [seq, method] = (getHeader(req, 'cseq') ?? '1 X').split(/\s+/);
  setHeader(next, 'cseq', `${Number(seq) + 1} ${method}`);
  setHeader(next, auth.name, auth.value);
  return next;
}

/** Sends a non-INVITE and resolves with its final response, retrying once with credentials. */
export function sendWithAuth(
  core: UaCore,
  req: SipRequest,
  creds: Credentials | undefined,
  nextHop: string,
): Promise<SipResponse> {
  const target = core.targetFor(nextHop);
  setHeader(req, 'contact', getHeader(req, 'contact') ?? core.contact(target.transport));
  return new Promise((resolve) => {
    let retried = false;
    const send = (r: SipRequest): void => {
      core.sendRequest(r, target, (res) => {
        if (res.status < 200) return;
        const again = retried ? null : withAuth(r, res, creds);
        if (again) {
          retried = true;
          send(again);
        } else resolve(res);
      });
    };
    send(req);
  });
}

export function sendInvite(core: UaCore, o: InviteOptions): OutgoingInvite {
  const target = core.targetFor(o.proxy ?? o.uri);
  let req = buildRequest(core, {
    method: 'INVITE',
    uri: o.uri,
    from: o.from,
    to: o.to,
    callId: o.callId,
    proxy: o.proxy,
    headers: o.headers,
    body: o.sdp,
    contentType: 'application/sdp',
  });
  setHeader(req, 'contact', core.contact(target.transport));
  let ct: ClientTransaction | null = null;
  let provisional = false;
  let final = false;
  let cancelWanted = false;
  let cancelSent = false;
  let retried = false;
  let dialog: SipDialog | null = null;

  const sendCancel = (): void => {
    if (cancelSent || !ct) return;
    cancelSent = true;
    core.layer.sendRequest(cancelFor(ct.request), target, { onResponse: () => undefined });
    // RFC 3261 9.1: no final response 64*T1 after the CANCEL, and the INVITE is given up.
    const invite = ct;
    setTimeout(() => {
      if (final) return;
      invite.terminate();
      onFinal(makeResponse(invite.request, 408, 'Request Timeout'));
    }, 64 * core.timers.t1).unref();
  };
  let onFinal: (res: SipResponse) => void = () => undefined;

  const done = new Promise<{ dialog: Dialog; response: SipResponse }>((resolve, reject) => {
    const onResponse = (res: SipResponse): void => {
      if (res.status < 200) {
        provisional = true;
        if (cancelWanted) sendCancel();
        if (res.status > 100) o.onProgress?.(res);
        return;
      }
      if (res.status < 300) {
        if (dialog) {
          dialog.resendAck();
          return;
        }
        final = true;
        const sent = ct?.request ?? req;
        dialog = new SipDialog(core, DialogState.fromUac(sent, res));
        const seq = Number((getHeader(sent, 'cseq') ?? '1').split(/\s+/)[0]);
        const ack = dialog.state.createRequest('ACK', { seq });
        dialog.lastAck = ack;
        dialog.resendAck();
        if (cancelWanted) {
          // The 2xx crossed our CANCEL: the call is up, so end it properly.
          void dialog.bye();
          reject(new SipError(487, 'cancelled', res));
        } else resolve({ dialog, response: res });
        return;
      }
      if (final) return;
      const again = retried || cancelWanted ? null : withAuth(req, res, o.credentials);
      if (again) {
        retried = true;
        req = again;
        provisional = false;
        ct = core.sendRequest(req, target, onResponse);
        return;
      }
      final = true;
      reject(new SipError(res.status, `INVITE failed: ${res.status} ${res.reason}`, res));
    };
    onFinal = onResponse;
    ct = core.sendRequest(req, target, onResponse);
  });

  return {
    done,
    cancel(): void {
      if (final || cancelWanted) return;
      cancelWanted = true;
      // RFC 3261 9.1: a CANCEL may only follow a provisional response.
      if (provisional) sendCancel();
    },
  };
}
