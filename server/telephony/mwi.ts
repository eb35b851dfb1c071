import { isVoicegateError } from '../domain/errors.ts';
import type { MailboxRecord } from '../domain/mailbox.ts';
import type { MailboxService } from '../domain/mailbox-service.ts';
import type { Credentials, Dialog, IncomingRequest, SipLog } from '../sip/api.ts';
import type { UserAgent } from '../sip/user-agent.ts';
import { getHeader, parseNameAddr, parseUri } from '../sip/message.ts';
import type { LampWatcher } from './lamp-watcher.ts';
import { MESSAGE_SUMMARY, messageSummary, type LampState } from './message-summary.ts';
import type { Principal, Registrar } from './registrar.ts';

const MAX_EXPIRES = 3600;
const MIN_EXPIRES = 60;

interface Subscription {
  dialog: Dialog;
  mailboxId: number;
  account: string;
  expiresAt: number;
  timer: NodeJS.Timeout;
}

export interface MwiOptions {
  domain: string;
  /** Unsolicited NOTIFYs for every mailbox with an extension go to this PBX. */
  pbx: { uri: string; credentials?: Credentials } | null;
  /**
   * Whether this server tells the PBX of lamps now, asked at each change (a backup live or not,
   * a partition's rule); absent: always.
   */
  sendsToPbx?: () => boolean;
}

function userOf(uri: string): string | undefined {
  try {
    return parseUri(uri).user;
  } catch {
    return undefined;
  }
}

/**
 * Message waiting (RFC 3842): phones SUBSCRIBE to message-summary for a mailbox and get a NOTIFY
 * at once and after every change from any channel; a configured PBX gets unsolicited NOTIFYs.
 * A hunt group's lamp may be subscribed to by its members.
 */
export class Mwi {
  readonly #ua: UserAgent;
  readonly #mailboxes: MailboxService;
  readonly #lamps: LampWatcher;
  readonly #registrar: Registrar;
  readonly #log: SipLog;
  readonly #opts: MwiOptions;
  readonly #subs = new Set<Subscription>();

  constructor(
    deps: {
      ua: UserAgent;
      mailboxes: MailboxService;
      lamps: LampWatcher;
      registrar: Registrar;
      log: SipLog;
    },
    opts: MwiOptions,
  ) {
    this.#ua = deps.ua;
    this.#mailboxes = deps.mailboxes;
    this.#lamps = deps.lamps;
    this.#registrar = deps.registrar;
    this.#log = deps.log;
    this.#opts = opts;
  }

  get subscriptions(): number {
    return this.#subs.size;
  }

  async #mailbox(ref: string | undefined): Promise<MailboxRecord | null> {
    if (!ref) return null;
    try {
      return await this.#mailboxes.resolve(ref);
    } catch (err) {
      if (isVoicegateError(err, 'NOT_FOUND')) return null;
      throw err;
    }
  }

  /** A new SUBSCRIBE (outside any dialog). */
  async subscribe(req: IncomingRequest, principal: Principal): Promise<void> {
    const event = (getHeader(req.request, 'event') ?? '').split(';')[0]!.trim().toLowerCase();
    if (event !== 'message-summary') return req.respond(489, 'Bad Event');
    const accept = getHeader(req.request, 'accept');
    if (accept && !accept.toLowerCase().includes(MESSAGE_SUMMARY)) return req.respond(406);
    const mailbox = await this.#mailbox(userOf(req.request.uri));
    if (!mailbox) return req.respond(404, 'Not Found');
    // A phone watches its own lamp, and those of the hunt groups it belongs to.
    const allowed =
      mailbox.kind === 'group'
        ? await this.#isMember(mailbox, req, principal)
        : !('extension' in principal) || principal.extension === mailbox.extension;
    if (!allowed) return req.respond(403, 'Forbidden');
    const expires = this.#expires(req);
    const dialog = req.acceptDialog(200, { headers: { Expires: String(expires) } });
    const account = `sip:${mailbox.extension ?? mailbox.name}@${this.#opts.domain}`;
    const sub: Subscription = {
      dialog,
      mailboxId: mailbox.id,
      account,
      expiresAt: Date.now() + expires * 1000,
      timer: setTimeout(() => void this.#end(sub, 'timeout'), expires * 1000),
    };
    this.#subs.add(sub);
    dialog.onEnd(() => {
      clearTimeout(sub.timer);
      this.#subs.delete(sub);
    });
    // Refreshes and unsubscribes come inside the dialog and are answered in it (same tag).
    dialog.onRequest((inner) => void this.#refresh(sub, inner));
    this.#log.info(
      { mailbox: mailbox.name, expires, remote: req.source.address },
      'MWI subscribed',
    );
    await this.#notify(sub, await this.#lamps.current(mailbox.id), `active;expires=${expires}`);
    if (expires === 0) sub.dialog.terminate('unsubscribed');
  }

  async #refresh(sub: Subscription, req: IncomingRequest): Promise<void> {
    if (req.request.method !== 'SUBSCRIBE') return req.respond(405);
    const expires = this.#expires(req);
    req.respond(200, undefined, { headers: { Expires: String(expires) } });
    clearTimeout(sub.timer);
    if (expires === 0) return this.#end(sub, 'timeout');
    sub.expiresAt = Date.now() + expires * 1000;
    sub.timer = setTimeout(() => void this.#end(sub, 'timeout'), expires * 1000);
    await this.#notify(sub, await this.#lamps.current(sub.mailboxId), `active;expires=${expires}`);
  }

  async #end(sub: Subscription, reason: string): Promise<void> {
    this.#subs.delete(sub);
    clearTimeout(sub.timer);
    await this.#notify(
      sub,
      await this.#lamps.current(sub.mailboxId),
      `terminated;reason=${reason}`,
    );
    sub.dialog.terminate(reason);
  }

  #expires(req: IncomingRequest): number {
    const raw = Number(getHeader(req.request, 'expires') ?? MAX_EXPIRES);
    if (!Number.isFinite(raw) || raw < 0) return MAX_EXPIRES;
    if (raw === 0) return 0;
    return Math.min(MAX_EXPIRES, Math.max(MIN_EXPIRES, Math.floor(raw)));
  }

  async #isMember(
    group: MailboxRecord,
    req: IncomingRequest,
    principal: Principal,
  ): Promise<boolean> {
    // A PBX speaks for its phones (From); a phone only for the extension it proved.
    let user: string | undefined;
    if ('extension' in principal) user = principal.extension;
    else
      try {
        user = userOf(parseNameAddr(getHeader(req.request, 'from') ?? '').uri);
      } catch {
        return false;
      }
    const members = await this.#mailboxes.groupMembers(group.name);
    const phone = 'extension' in principal;
    return members.some((m) => m.extension === user || (!phone && m.name === user));
  }

  async #notify(sub: Subscription, state: LampState, subscriptionState: string): Promise<void> {
    try {
      const res = await sub.dialog.request('NOTIFY', {
        headers: { Event: 'message-summary', 'Subscription-State': subscriptionState },
        body: messageSummary(sub.account, state),
        contentType: MESSAGE_SUMMARY,
      });
      if (res.status >= 300) this.#log.info({ status: res.status }, 'MWI NOTIFY refused');
    } catch (err) {
      this.#log.info({ err: (err as Error).message }, 'MWI NOTIFY failed');
    }
  }

  /** A mailbox's lamp changed: every subscriber hears of it, and the PBX when configured. */
  async changed(mailboxId: number, state: LampState): Promise<void> {
    const sends = [...this.#subs]
      .filter((s) => s.mailboxId === mailboxId)
      .map((s) =>
        this.#notify(
          s,
          state,
          `active;expires=${Math.max(0, Math.round((s.expiresAt - Date.now()) / 1000))}`,
        ),
      );
    const pbx = this.#opts.pbx;
    if (pbx && (this.#opts.sendsToPbx?.() ?? true))
      sends.push(this.#unsolicited(mailboxId, state, pbx));
    await Promise.all(sends);
  }

  async #unsolicited(
    mailboxId: number,
    state: LampState,
    pbx: NonNullable<MwiOptions['pbx']>,
  ): Promise<void> {
    const mailbox = (await this.#mailboxes.list()).find((m) => m.id === mailboxId);
    if (!mailbox?.extension) return;
    const host = pbx.uri.replace(/^sips?:/, '').replace(/;.*$/, '');
    const account = `sip:${mailbox.extension}@${this.#opts.domain}`;
    try {
      const res = await this.#ua.request({
        method: 'NOTIFY',
        uri: this.#registrar.contactOf(mailbox.extension) ?? `sip:${mailbox.extension}@${host}`,
        from: `<sip:voicemail@${this.#opts.domain}>`,
        to: `<sip:${mailbox.extension}@${host}>`,
        headers: { Event: 'message-summary', 'Subscription-State': 'active' },
        body: messageSummary(account, state),
        contentType: MESSAGE_SUMMARY,
        proxy: pbx.uri,
        credentials: pbx.credentials,
      });
      if (res.status >= 300)
        this.#log.info({ status: res.status, mailbox: mailbox.name }, 'unsolicited MWI refused');
    } catch (err) {
      this.#log.info({ err: (err as Error).message }, 'unsolicited MWI failed');
    }
  }

  close(): void {
    for (const sub of this.#subs) clearTimeout(sub.timer);
    this.#subs.clear();
  }
}
