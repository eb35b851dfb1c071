import type { VoicemailIdentity } from './identity.ts';
import type { AudioRef, Priority } from './message.ts';

/**
 * Voicemail e-mail waiting to be sent. `copy` and `alert` go with a message kept in the
 * mailbox; `forward` replaces it (the audio is kept here until the mail server accepted it);
 * `manual` is a user's "forward to e-mail".
 */
export const MAIL_KINDS = ['copy', 'forward', 'alert', 'manual'] as const;
export type MailKind = (typeof MAIL_KINDS)[number];

export interface MailFacts {
  /** The id of the message this voicemail is, or becomes if a forward bounces (the web link). */
  voicemailId: string;
  /** The voicemail's global identity: the mail's Message-ID. */
  identity: VoicemailIdentity;
  callerNumber: string | null;
  callerName: string | null;
  receivedAt: number;
  audio: AudioRef;
  priority: Priority;
  private: boolean;
}

export interface NewMail extends MailFacts {
  kind: MailKind;
  mailboxId: number;
  recipient: string;
  /** The stored message this mail is about; null for `forward`. */
  messageId: string | null;
}

export interface OutboxItem extends NewMail {
  id: number;
  status: 'pending' | 'failed';
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
}

/** What a delivery target answers: sent, try again later, or never. */
export type DeliveryResult =
  { status: 'ok'; detail?: string } | { status: 'retry' | 'fail'; reason: string };

/** A place voicemail is delivered to (an SMTP server; later Exchange, another Voicegate). */
export interface DeliveryTarget {
  deliver(item: OutboxItem): Promise<DeliveryResult>;
}

const MINUTE = 60_000;
/** Waits between attempts: 1, 5, 15, 30 minutes, then every hour. */
const BACKOFF = [1, 5, 15, 30, 60].map((m) => m * MINUTE);

export function nextAttemptAt(attempts: number, now: number): number {
  return now + BACKOFF[Math.min(attempts, BACKOFF.length) - 1]!;
}

/** A temporary failure turns permanent once the mail has waited this long. */
export function givenUp(
  item: Pick<OutboxItem, 'createdAt'>,
  now: number,
  retryHours: number,
): boolean {
  return now - item.createdAt >= retryHours * 60 * MINUTE;
}
