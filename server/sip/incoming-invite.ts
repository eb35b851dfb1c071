// A dialog-creating INVITE waiting for the app's answer: progress, accept, reject, CANCEL.
import { newTag, type SipRequest } from './message.ts';
import { DialogState } from './dialog.ts';
import { SipDialog, buildResponse } from './dialog-session.ts';
import type { ServerTransaction } from './transaction.ts';
import type { Peer } from './transport.ts';
import {
  SipError,
  type Dialog,
  type IncomingInvite,
  type ResponseOptions,
  type UaCore,
} from './api.ts';

export class PendingInvite implements IncomingInvite {
  readonly request: SipRequest;
  readonly source: Peer;
  /** The To tag of every response to this INVITE, provisional or final, and of the dialog. */
  private readonly tag = newTag();
  private readonly core: UaCore;
  private readonly st: ServerTransaction;
  private wasCancelled = false;
  private readonly cancelHandlers: (() => void)[] = [];

  constructor(core: UaCore, request: SipRequest, source: Peer, st: ServerTransaction) {
    this.core = core;
    this.request = request;
    this.source = source;
    this.st = st;
  }

  get cancelled(): boolean {
    return this.wasCancelled;
  }

  /** Has a final response gone out (or a CANCEL come in)? */
  get settled(): boolean {
    return this.st.answered || this.wasCancelled;
  }

  progress(status = 180): void {
    if (this.settled) return;
    const contact = this.core.contact(this.source.transport);
    this.st.respond(
      buildResponse(this.request, status, undefined, this.tag, { headers: { contact } }),
    );
  }

  accept(sdp: string, o: { headers?: Record<string, string | string[]> } = {}): Promise<Dialog> {
    if (this.settled)
      return Promise.reject(new SipError(487, 'the INVITE was cancelled or already answered'));
    const dialog = new SipDialog(
      this.core,
      DialogState.fromUas(this.request, this.tag),
      this.source,
    );
    const res = buildResponse(this.request, 200, undefined, this.tag, {
      headers: o.headers ?? {},
      body: sdp,
      contentType: 'application/sdp',
    });
    return dialog.sendReliable2xx(this.request, this.st, res).then(
      () => dialog,
      (err: unknown) => {
        dialog.terminate('no ACK');
        throw err;
      },
    );
  }

  reject(status: number, reason?: string, o?: ResponseOptions): void {
    if (this.settled) return;
    this.st.respond(buildResponse(this.request, status, reason, this.tag, o));
  }

  onCancel(cb: () => void): void {
    if (this.wasCancelled) cb();
    else this.cancelHandlers.push(cb);
  }

  /** RFC 3261 9.2: the UA answered the CANCEL 200; the INVITE, if still open, gets 487. */
  cancel(): void {
    if (this.settled) return;
    this.st.respond(buildResponse(this.request, 487, undefined, this.tag));
    this.wasCancelled = true;
    for (const cb of this.cancelHandlers.splice(0)) {
      try {
        cb();
      } catch (err) {
        this.core.log.error({ err }, 'sip cancel handler threw');
      }
    }
  }
}
