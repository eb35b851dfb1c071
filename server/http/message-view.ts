import type { Mailbox } from '../domain/mailbox.ts';
import { callerLabel, type Message } from '../domain/message.ts';
import { formatLocalTime } from '../domain/time.ts';
import type { Static } from '@sinclair/typebox';
import { VoicegateError } from '../domain/errors.ts';
import type { Priority } from '../domain/message.ts';
import type { MessageSearch, StateFilter } from '../domain/message-search.ts';
import type { MessageCursor, MessageOrder } from '../domain/ports.ts';
import type { MessageInfo, SearchQuery } from './schemas.ts';

/** A message as the web API shows it: times in the mailbox's zone, no storage details. */
export function messageInfo(m: Message, mailbox: Pick<Mailbox, 'timeZone'>): MessageInfo {
  return {
    id: m.id,
    kind: m.kind,
    state: m.state,
    deletedFrom: m.deletedFrom,
    callerNumber: m.callerNumber,
    callerName: m.callerName,
    caller: callerLabel(m),
    receivedAt: new Date(m.receivedAt).toISOString(),
    receivedLocal: formatLocalTime(m.receivedAt, mailbox.timeZone),
    durationMs: m.audio.durationMs,
    priority: m.priority,
    private: m.private,
    forwardedFrom: m.forwardedFrom,
    emailError: m.emailError,
  };
}

export function mailboxInfo(m: Mailbox) {
  return {
    name: m.name,
    extension: m.extension,
    fullName: m.fullName,
    kind: m.kind,
    timeZone: m.timeZone,
    locale: m.locale,
    email: m.email,
    emailMode: m.emailMode,
    activeGreeting: m.activeGreeting,
  };
}

/** A page's end as the API hands it out: opaque to clients, checked when it comes back. */
export function encodeCursor(c: MessageCursor): string {
  return Buffer.from(JSON.stringify([c.receivedAt, c.id, c.priority])).toString('base64url');
}

export function decodeCursor(text: string): MessageCursor {
  try {
    const [receivedAt, id, priority] = JSON.parse(
      Buffer.from(text, 'base64url').toString(),
    ) as unknown[];
    if (
      Number.isSafeInteger(receivedAt) &&
      typeof id === 'string' &&
      id.length <= 64 &&
      (priority === 'normal' || priority === 'high')
    )
      return { receivedAt: receivedAt as number, id, priority };
  } catch {
    // Reported below, like any other cursor not made here.
  }
  throw new VoicegateError('INVALID_INPUT', 'cursor is not one this server gave');
}

type SearchFields = Omit<Static<typeof SearchQuery>, 'folder'> & { folder?: string };

/** The domain's search from the API's query fields. */
export function toSearch(q: SearchFields): Omit<MessageSearch, 'limit'> {
  return {
    view: q.folder === 'deleted' ? 'deleted' : 'inbox',
    order: q.order as MessageOrder | undefined,
    caller: q.q,
    fromDay: q.from,
    toDay: q.to,
    state: q.state as StateFilter | undefined,
    priority: q.priority as Priority | undefined,
    private: q.private,
  };
}
