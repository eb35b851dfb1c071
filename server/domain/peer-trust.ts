/**
 * Trust between the servers of a network (DESIGN.md, "Topology"): a sync mail counts only if a
 * configured peer signed it with the secret it shares with this server. The signature is an
 * HMAC-SHA256 over what the mail means (who sent it, to which sync address, what kind, which
 * voicemail, when, a nonce, and a digest of the body), so nothing in it can be changed, and a
 * copy sent again is refused by its nonce and its age.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { VoicegateError } from './errors.ts';

/** The headers a sync mail carries: they name the peer and sign the mail. */
export const SYNC_HEADERS = {
  peer: 'x-voicegate-peer',
  kind: 'x-voicegate-sync',
  timestamp: 'x-voicegate-timestamp',
  nonce: 'x-voicegate-nonce',
  signature: 'x-voicegate-signature',
} as const;

/**
 * What a sync mail carries: `voicemail` (a distributed server's message to the central, or the
 * central's copy to its backup), `replica` (a versioned change of the central's settings,
 * mailboxes, greetings and call flows, `replica.ts`), `state` (a voicemail's state changed on a
 * peer), `ping` (the central's sign of life to its backup over the SMTP link, beside the HTTPS
 * heartbeat: `failover.ts`, `SIGNAL_EVENTS`), `greeting` (a greeting changed on a live backup,
 * handed back: `greeting-merge.ts`).
 */
export const SYNC_KINDS = ['voicemail', 'replica', 'state', 'ping', 'greeting'] as const;
export type SyncKind = (typeof SYNC_KINDS)[number];

/** How far a sync mail's time may be from this server's clock (either way). */
export const MAX_SKEW_MS = 5 * 60_000;

export interface SignedFacts {
  /** The sender's `server.name`. */
  peer: string;
  /** The sync address it is for (`vmsyncmaster`, `vmsyncslave`), lower case. */
  to: string;
  kind: SyncKind;
  /** The mail's Message-ID without brackets (a voicemail's identity). */
  messageId: string;
  timestamp: number;
  nonce: string;
}

function canonical(f: SignedFacts, body: Uint8Array): string {
  const digest = createHash('sha256').update(body).digest('hex');
  return ['voicegate-sync-1', f.peer, f.to, f.kind, f.messageId, f.timestamp, f.nonce, digest].join(
    '\n',
  );
}

function hmac(secret: string, f: SignedFacts, body: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(canonical(f, body)).digest();
}

/** A new nonce: 128 random bits. */
export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

/** The signature header's value for a mail with these facts and this body. */
export function signSync(secret: string, facts: SignedFacts, body: Uint8Array): string {
  return `v1=${hmac(secret, facts, body).toString('hex')}`;
}

/** Nonces seen lately: a mail whose nonce is here was received before. */
export class NonceMemory {
  readonly #seen = new Map<string, number>();
  /** Remembers `nonce` until `until`; false if it was remembered already. */
  remember(nonce: string, until: number, now: number): boolean {
    if (this.#seen.size > 1000) for (const [n, t] of this.#seen) if (t <= now) this.#seen.delete(n);
    const known = this.#seen.get(nonce);
    if (known !== undefined && known > now) return false;
    this.#seen.set(nonce, until);
    return true;
  }
}

const refused = (why: string): VoicegateError =>
  new VoicegateError('FORBIDDEN', `sync mail refused: ${why}`);

/**
 * Checks a sync mail's signature, age and nonce: returns when it is the peer's, else throws
 * FORBIDDEN saying why (never showing a secret or the expected signature). `secretOf` gives
 * the secret shared with a configured peer, or null for anyone else.
 */
export function verifySync(
  facts: SignedFacts,
  signature: string,
  body: Uint8Array,
  secretOf: (peer: string) => string | null,
  nonces: NonceMemory,
  now: number,
): void {
  const secret = secretOf(facts.peer);
  if (secret === null) throw refused(`"${facts.peer}" is not a configured peer`);
  if (!(SYNC_KINDS as readonly string[]).includes(facts.kind))
    throw refused(`unknown kind "${facts.kind}"`);
  const given = /^v1=([0-9a-f]{64})$/.exec(signature)?.[1];
  if (!given) throw refused('no valid signature header');
  if (!timingSafeEqual(Buffer.from(given, 'hex'), hmac(secret, facts, body)))
    throw refused(`the signature does not match (wrong secret, or the mail was changed)`);
  if (!Number.isFinite(facts.timestamp) || Math.abs(now - facts.timestamp) > MAX_SKEW_MS)
    throw refused(
      `its time is more than ${MAX_SKEW_MS / 60_000} minutes from this server's (a replay, or clocks apart)`,
    );
  if (!/^[0-9a-f]{32}$/.test(facts.nonce)) throw refused('no valid nonce');
  if (!nonces.remember(facts.nonce, facts.timestamp + MAX_SKEW_MS, now))
    throw refused('it was received before (a replay)');
}

/**
 * Where the SMTP listener hands mail for a sync address (the port the composition root fills
 * on a server with peers). Both throw domain errors the listener turns into SMTP replies.
 */
export interface SyncInbox {
  /** At RCPT: whether this session may send sync mail at all (TLS, unless a peer may go without). */
  checkRecipient(to: string, session: { secure: boolean; remote: string }): void;
  /** At DATA: verifies and applies one sync mail; returns the text of the 250 reply. */
  receive(raw: Buffer, to: string, session: { secure: boolean; remote: string }): Promise<string>;
}

/**
 * A heartbeat: the backup asks its central with a fresh nonce, and the central answers with
 * its name, its time and an HMAC over them and the nonce, under the secret they share. Only
 * the central can make the answer, and only for this question, so a forged or replayed
 * answer cannot keep a dead central "alive"; a missing or wrong one counts as a missed beat.
 */
export interface BeatFacts {
  /** The answering server's `server.name`. */
  peer: string;
  /** The asking server's `server.name`. */
  asker: string;
  nonce: string;
  at: number;
}

function beatMac(secret: string, f: BeatFacts): Buffer {
  return createHmac('sha256', secret)
    .update(['voicegate-beat-1', f.peer, f.asker, f.nonce, f.at].join('\n'))
    .digest();
}

export function signBeat(secret: string, facts: BeatFacts): string {
  return `v1=${beatMac(secret, facts).toString('hex')}`;
}

/** Why a heartbeat's answer is not the peer's own answer to this nonce, or null if it is. */
export function beatProblem(secret: string, facts: BeatFacts, signature: string): string | null {
  const given = /^v1=([0-9a-f]{64})$/.exec(signature)?.[1];
  if (!given) return 'the heartbeat is not signed';
  if (!timingSafeEqual(Buffer.from(given, 'hex'), beatMac(secret, facts)))
    return 'the heartbeat signature does not match (wrong secret, or not the peer)';
  return null;
}
