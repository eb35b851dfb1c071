import type { Mailbox } from '../domain/mailbox.ts';
import { callerLabel, type Message } from '../domain/message.ts';
import { formatLocalTime } from '../domain/time.ts';
import type { MessageInfo } from './schemas.ts';

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
