import { VoicegateError } from './errors.ts';
import { GREETING_KINDS, type GreetingKind } from './mailbox.ts';

/**
 * Greetings changed on a live backup (by phone, the web or the CLI) go back to the central at
 * failback (several servers, DESIGN.md "Topology"). The backup notes each change while live in
 * its outbox (one entry per mailbox and kind: the last change), and sends each with the
 * greeting as it is when sent (or, removed there, its removal); the central applies it by one
 * rule (`peerGreetingWins`).
 */

/** A greeting changed on a peer: which one, when, by which server. */
export interface PeerGreeting {
  mailbox: string;
  kind: GreetingKind;
  /** When it was changed there (ms since 1970). */
  changedAt: number;
  /** The server that changed it. */
  server: string;
  /** It was removed there (the mailbox's default plays instead); absent when it was set. */
  removed?: true;
}

/** A greeting outbox: the changes waiting to go to the central, one per mailbox and kind. */
export type GreetingOutbox = PeerGreeting[];

/** The outbox with `change` noted: it replaces an earlier change of the same greeting. */
export function noteGreetingChange(outbox: GreetingOutbox, change: PeerGreeting): GreetingOutbox {
  return [...outbox.filter((g) => g.mailbox !== change.mailbox || g.kind !== change.kind), change];
}

/** The outbox without `sent`, unless the greeting changed again since (a later entry stays). */
export function greetingSent(outbox: GreetingOutbox, sent: PeerGreeting): GreetingOutbox {
  return outbox.filter(
    (g) => g.mailbox !== sent.mailbox || g.kind !== sent.kind || g.changedAt > sent.changedAt,
  );
}

/**
 * Whether a peer's greeting replaces the one here: when there is none here, or the peer changed
 * it later than this server last did (the last change wins; a tie keeps the one here).
 */
export function peerGreetingWins(here: { updatedAt: number } | null, peer: PeerGreeting): boolean {
  return here === null || peer.changedAt > here.updatedAt;
}

/** A peer's greeting change as read off the wire: checked before anything is compared with it. */
export function checkPeerGreeting(value: unknown): PeerGreeting {
  const v = value as Partial<PeerGreeting> | null;
  const ok =
    typeof v === 'object' &&
    v !== null &&
    typeof v.mailbox === 'string' &&
    v.mailbox !== '' &&
    (GREETING_KINDS as readonly unknown[]).includes(v.kind) &&
    Number.isSafeInteger(v.changedAt) &&
    typeof v.server === 'string' &&
    v.server !== '' &&
    (v.removed === undefined || v.removed === true);
  if (!ok)
    throw new VoicegateError(
      'INVALID_INPUT',
      `a greeting change needs mailbox, kind (${GREETING_KINDS.join(', ')}), changedAt and server (removed: true or nothing)`,
    );
  const change = { mailbox: v.mailbox!, kind: v.kind!, changedAt: v.changedAt!, server: v.server! };
  return v.removed ? { ...change, removed: true } : change;
}
