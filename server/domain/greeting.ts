/**
 * Which greeting a caller hears when a mailbox takes a message, decided once: the built-in
 * leave-message flow, a flow's `play: {greeting: MAILBOX}` and the owner's greetings menu all ask
 * here.
 */
import type { ActiveGreeting, GreetingKind, Mailbox } from './mailbox.ts';

/** Why the call reached the mailbox, as far as the greeting cares. */
export type CallReason = 'busy' | 'no-answer' | 'forwarded' | 'direct';

/** The SIP forwarding reason (Diversion `reason`, History-Info cause) as a call reason. */
export function callReason(forwardReason: string | null): CallReason {
  if (forwardReason === null) return 'direct';
  if (forwardReason === 'user-busy') return 'busy';
  if (forwardReason === 'no-answer') return 'no-answer';
  return 'forwarded';
}

/** One way to greet the caller; the flow plays the first it can. */
export type CallerGreeting =
  /** A greeting the owner recorded. */
  | { say: 'greeting'; kind: ActiveGreeting }
  /** The recorded name, then "is not available, leave a message after the tone". */
  | { say: 'name' }
  /** "Extension" and its digits, then the same. */
  | { say: 'number'; number: string }
  /** "The person you called is not available", then the same. */
  | { say: 'nobody' };

/**
 * What to try, best first. A call the PBX forwarded because the line was busy hears the busy
 * greeting when there is one, unless a temporary greeting (meant for every caller) is active;
 * otherwise the active greeting; then the recorded name; then the extension (or a numeric name)
 * spoken. Only recorded greetings are listed, and the last entry needs no recording, so a
 * recording that turns out unreadable falls through to the next. Never empty.
 */
export function callerGreetings(
  mailbox: Pick<Mailbox, 'activeGreeting' | 'extension' | 'name'>,
  recorded: Iterable<GreetingKind>,
  reason: CallReason,
): CallerGreeting[] {
  const has = new Set(recorded);
  const out: CallerGreeting[] = [];
  if (reason === 'busy' && mailbox.activeGreeting !== 'temporary' && has.has('busy'))
    out.push({ say: 'greeting', kind: 'busy' });
  if (has.has(mailbox.activeGreeting) && !(reason === 'busy' && mailbox.activeGreeting === 'busy'))
    out.push({ say: 'greeting', kind: mailbox.activeGreeting });
  if (has.has('name')) out.push({ say: 'name' });
  const number = mailbox.extension ?? (/^[0-9]+$/.test(mailbox.name) ? mailbox.name : null);
  out.push(number ? { say: 'number', number } : { say: 'nobody' });
  return out;
}

/** The recorded greeting the caller would hear first, or null when none applies. */
export function recordedGreeting(choices: readonly CallerGreeting[]): ActiveGreeting | null {
  const first = choices[0]!;
  return first.say === 'greeting' ? first.kind : null;
}
