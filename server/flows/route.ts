import { isVoicegateError } from '../domain/errors.ts';
import type { MailboxRecord } from '../domain/mailbox.ts';
import { normalizeLanguage } from '../prompts/voices.ts';
import type { CallInfo } from './call.ts';
import type { Vars } from './action.ts';
import { COLLECT_MESSAGES, LEAVE_MESSAGE } from './builtin.ts';
import type { Flow, FlowBook } from './flow.ts';

export interface RouteContext {
  flows: FlowBook;
  /** Finds a mailbox by name or extension; throws NOT_FOUND (MailboxService.resolve). */
  mailboxes: { resolve(ref: string): Promise<MailboxRecord> };
  accessNumbers: readonly string[];
  defaultLanguage: string;
}

export type RouteReason = 'flow-number' | 'access-number' | 'forwarded' | 'own-mailbox' | 'mailbox';

export type Route =
  | {
      kind: 'flow';
      flow: Flow;
      reason: RouteReason;
      /** The mailbox name the call is for; null at a flow number or an access number. */
      mailbox: string | null;
      /** That mailbox as routing found it: the call carries it (runFlow) rather than look again. */
      record: MailboxRecord | null;
      language: string;
      /** Starting variables for runFlow. */
      vars: Vars;
    }
  | { kind: 'not-found'; reason: string };

async function find(ctx: RouteContext, ref: string | null): Promise<MailboxRecord | null> {
  if (!ref) return null;
  try {
    return await ctx.mailboxes.resolve(ref);
  } catch (err) {
    if (isVoicegateError(err, 'NOT_FOUND') || isVoicegateError(err, 'INVALID_INPUT')) return null;
    throw err;
  }
}

/** The configured flow that replaces leave-message for this mailbox, if any. */
function flowFor(book: FlowBook, mailbox: MailboxRecord): Flow | undefined {
  for (const flow of book.flows.values()) {
    if (flow.mailboxes.includes(mailbox.name)) return flow;
    if (mailbox.extension && flow.mailboxes.includes(mailbox.extension)) return flow;
  }
  return undefined;
}

/**
 * Which flow answers a call: a flow's start number; an access number (messages after mailbox
 * and code); a forwarded call (a message for the mailbox it was forwarded from); a mailbox's
 * number (its owner's phone or a trusted number, when vouched for, collects messages without a
 * code; anyone else leaves a message, or gets the flow configured for that mailbox); else
 * not-found (SIP 404).
 */
export async function route(info: CallInfo, ctx: RouteContext): Promise<Route> {
  const base: Vars = {
    callerNumber: info.callerNumber ?? '',
    callerName: info.callerName ?? '',
    dialled: info.dialled,
    mailbox: '',
    trusted: 'no',
  };
  const language = (mailbox: MailboxRecord | null, flow: Flow | null): string =>
    normalizeLanguage(info.language) ?? flow?.language ?? mailbox?.locale ?? ctx.defaultLanguage;
  const result = (
    flow: Flow,
    reason: RouteReason,
    mailbox: MailboxRecord | null,
    extra: Vars = {},
  ): Route => {
    const lang = language(mailbox, flow);
    return {
      kind: 'flow',
      flow,
      reason,
      mailbox: mailbox?.name ?? null,
      record: mailbox,
      language: lang,
      vars: { ...base, mailbox: mailbox?.name ?? '', language: lang, ...extra },
    };
  };
  const builtin = (name: string) => ctx.flows.flows.get(name)!;

  const numbered = ctx.flows.byNumber.get(info.dialled);
  // A flow serving mailboxes knows `${mailbox}` as its first one, whatever number started it.
  if (numbered)
    return result(numbered, 'flow-number', await find(ctx, numbered.mailboxes[0] ?? null));
  if (ctx.accessNumbers.includes(info.dialled))
    return result(builtin(COLLECT_MESSAGES), 'access-number', null);

  const forwardedTo = await find(ctx, info.forwardedFrom);
  if (forwardedTo)
    return result(
      flowFor(ctx.flows, forwardedTo) ?? builtin(LEAVE_MESSAGE),
      'forwarded',
      forwardedTo,
    );

  const dialled = await find(ctx, info.dialled);
  if (!dialled)
    return {
      kind: 'not-found',
      reason: info.forwardedFrom
        ? `no mailbox for ${info.dialled} (forwarded from ${info.forwardedFrom})`
        : `no mailbox or flow for ${info.dialled}`,
    };
  // Caller ID opens a mailbox only when someone we trust vouches for it: a trusted PBX for the
  // extension or a trusted number, the phone's own digest credentials for the extension.
  const caller = info.callerNumber;
  const own =
    info.forwardedFrom === null &&
    caller !== null &&
    ((caller === dialled.extension && info.vouchedBy !== undefined) ||
      (dialled.trustedNumbers.includes(caller) && info.vouchedBy === 'peer'));
  if (own) return result(builtin(COLLECT_MESSAGES), 'own-mailbox', dialled, { trusted: 'yes' });
  // The owner's number without anyone to vouch for it: the owner, maybe, so the code is asked.
  const claimsOwn =
    info.forwardedFrom === null &&
    caller !== null &&
    (caller === dialled.extension || dialled.trustedNumbers.includes(caller));
  if (claimsOwn) return result(builtin(COLLECT_MESSAGES), 'own-mailbox', dialled);
  return result(flowFor(ctx.flows, dialled) ?? builtin(LEAVE_MESSAGE), 'mailbox', dialled);
}
