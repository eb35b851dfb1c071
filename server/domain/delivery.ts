import type { VoicemailIdentity } from './identity.ts';
import type { AudioRef, Priority } from './message.ts';

/**
 * Where a delivery goes. `smtp` is voicemail e-mail; `ews` and `graph` (Exchange) and `peer`
 * (another Voicegate) are declared here so that queued items of those kinds are valid data, and
 * are delivered once their targets are registered with the runner.
 */
export const TARGET_KINDS = ['smtp', 'ews', 'graph', 'peer'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

/**
 * Why a voicemail is delivered. `copy` and `alert` go with a message kept in the mailbox
 * (`alert` without the audio); `forward` replaces it (the audio is kept in the queue until the
 * target accepted it, and a forward that cannot be delivered is put into the mailbox instead);
 * `manual` is a user's "forward to e-mail" (or a call flow's recorded answer). `update` writes a
 * message's state back to where it lives (an Exchange item; for `peer`, a state change made
 * while live, carried in its payload): the target reads the state when it
 * runs, so each is idempotent and the last one leaves the item as the message is. `notice` is
 * no voicemail: a plain mail from the server to an administrator (an alarm raised or cleared),
 * queued so that it outlives a restart and a mail server that is away, as voicemail does.
 */
export const DELIVERY_KINDS = ['copy', 'forward', 'alert', 'manual', 'update', 'notice'] as const;
export type DeliveryKind = (typeof DELIVERY_KINDS)[number];
/** The kinds that carry a voicemail: every kind but `notice`. */
export type VoicemailDeliveryKind = Exclude<DeliveryKind, 'notice'>;

/** The voicemail a delivery carries, kept with it so it outlives the message (or replaces it). */
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

/** The facts a mail about a message carries, taken from the message. */
export function mailFactsOf(m: Omit<MailFacts, 'voicemailId'>): Omit<MailFacts, 'voicemailId'> {
  return {
    identity: m.identity,
    callerNumber: m.callerNumber,
    callerName: m.callerName,
    receivedAt: m.receivedAt,
    audio: m.audio,
    priority: m.priority,
    private: m.private,
  };
}

export interface NewDelivery extends MailFacts {
  target: TargetKind;
  kind: VoicemailDeliveryKind;
  mailboxId: number;
  /** Whom at the target: an e-mail address for `smtp`. */
  recipient: string;
  /** The stored message this delivery is about; null for `forward` and recordings. */
  messageId: string | null;
  /** Target-specific details beyond the recipient (none for `smtp`). */
  payload?: Readonly<Record<string, unknown>> | null;
}

/** A plain mail from the server: what it says, nothing of any mailbox. */
export interface Notice {
  subject: string;
  text: string;
}

/** A notice to queue: mailed (`smtp`, by the same servers as voicemail) to `recipient`. */
export interface NewNotice {
  target: 'smtp';
  kind: 'notice';
  recipient: string;
  notice: Notice;
}

/** Who is delivering an item, and until when nobody else may. */
export interface Lease {
  holder: string;
  until: number;
}

/** Where an item of the queue is: the same for voicemail and notices. */
export interface QueueState {
  id: number;
  status: 'pending' | 'failed';
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
  lease: Lease | null;
}

/** A voicemail in the queue. */
export interface Delivery extends NewDelivery, QueueState {}
/** A notice in the queue. */
export interface NoticeDelivery extends NewNotice, QueueState {}
/** Anything in the queue: its `kind` tells a notice from a voicemail. */
export type QueueItem = Delivery | NoticeDelivery;

/** Whether a queue item carries a voicemail (not a notice). */
export function isVoicemail(item: QueueItem): item is Delivery {
  return item.kind !== 'notice';
}

/**
 * What a target answers: delivered; not now (optionally after the time the target names, such
 * as a server's Retry-After, or at the moment it names: items that must go in order wait for
 * one same moment); or never.
 */
export type DeliveryResult =
  | { status: 'ok'; detail?: string }
  | { status: 'retry'; reason: string; afterMs?: number; at?: number }
  | { status: 'fail'; reason: string };

/** A place voicemail is delivered to: an SMTP server, an Exchange server, another Voicegate. */
export interface DeliveryTarget {
  readonly kind: TargetKind;
  /** `signal` aborts when the runner gave up waiting (the target's timeout, or shutdown). */
  deliver(item: Delivery, signal: AbortSignal): Promise<DeliveryResult>;
  /** Sends a notice; only a target that mails (`smtp`) has it, and only it is given notices. */
  deliverNotice?(item: NoticeDelivery, signal: AbortSignal): Promise<DeliveryResult>;
}

/** What becomes of an item after an attempt. */
export type DeliveryDecision =
  | { action: 'done' }
  | { action: 'retry'; at: number; attempts: number }
  | { action: 'give-up'; reason: string };

const MINUTE = 60_000;
/** Waits between attempts: 1, 5, 15, 30 minutes, then every hour. */
const BACKOFF = [1, 5, 15, 30, 60].map((m) => m * MINUTE);

/**
 * Whether and when to try again, decided once for every target: a refusal for good gives up; a
 * temporary one waits (the target's named time, else the back-off for this attempt) until the
 * item has waited `retryHours` since it was queued, then gives up.
 */
export function decideRetry(
  item: Pick<QueueItem, 'attempts' | 'createdAt'>,
  result: DeliveryResult,
  now: number,
  retryHours: number,
): DeliveryDecision {
  if (result.status === 'ok') return { action: 'done' };
  if (result.status === 'fail') return { action: 'give-up', reason: result.reason };
  if (now - item.createdAt >= retryHours * 60 * MINUTE) {
    return { action: 'give-up', reason: result.reason };
  }
  const attempts = item.attempts + 1;
  // As named, even if just past: items waiting for one moment keep their order in the queue.
  if (result.at !== undefined && Number.isFinite(result.at))
    return { action: 'retry', at: result.at, attempts };
  const wait =
    result.afterMs !== undefined && Number.isFinite(result.afterMs)
      ? Math.max(0, result.afterMs)
      : BACKOFF[Math.min(attempts, BACKOFF.length) - 1]!;
  return { action: 'retry', at: now + wait, attempts };
}

/**
 * How long a claim holds an item: longer than the target may take, with room to record the
 * result, so a live worker never loses its item while a dead worker's item comes back.
 */
export function leaseFor(timeoutMs: number): number {
  return timeoutMs + Math.min(30_000, Math.max(1_000, timeoutMs));
}
