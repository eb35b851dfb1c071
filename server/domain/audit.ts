/**
 * The audit trail: who logged in or failed to, on which channel and from where; lockouts and
 * unlocks; code changes; what administrators changed (before and after, never a secret);
 * forwards to e-mail; purges. Kept in the store (`AuditStore`) for `audit.retentionDays` and
 * logged, each record once, with the field `audit` (which the syslog forwarder picks up).
 */
export const AUDIT_KINDS = [
  'login',
  'lockout',
  'unlock',
  'code-change',
  'mailbox-change',
  'admin-change',
  'queue-change',
  'forward-email',
  'purge',
  'failover',
] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

export const AUDIT_CHANNELS = [
  'web',
  'imap',
  'phone',
  'cli',
  'smtp',
  'admin-web',
  'system',
] as const;
export type AuditChannel = (typeof AUDIT_CHANNELS)[number];

export type AuditOutcome = 'success' | 'failure';

export interface NewAuditRecord {
  at: number;
  kind: AuditKind;
  channel: AuditChannel;
  /** Who acted: `admin:NAME`, `mailbox:NAME`, or null (the system, an unknown caller). */
  principal: string | null;
  /** The mailbox concerned (as given, for a log-in to an unknown one), if any. */
  mailbox: string | null;
  /** The client's address, if the act came over the network. */
  client: string | null;
  outcome: AuditOutcome;
  /** Why, in a few words (a failure's cause, what was done). */
  reason: string | null;
  /** What changed: before and after, secrets left out. */
  details: Record<string, unknown> | null;
}

export interface AuditRecord extends NewAuditRecord {
  id: number;
}

/** A search of the trail, newest first. */
export interface AuditQuery {
  mailbox?: string;
  kind?: AuditKind;
  principal?: string;
  /** At or after (UTC ms). */
  since?: number;
  /** Before (UTC ms). */
  until?: number;
  /** Older than this record id (the previous page's last). */
  before?: number;
  limit: number;
}

/** Fields never kept in a record's details, whatever a caller hands in. */
const SECRET_FIELDS = /code|password|secret|token|hash|ha1|key/i;

/** A copy of `details` without any secret field (at any depth). */
export function withoutSecrets(details: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(details)) {
    if (SECRET_FIELDS.test(k)) continue;
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v)
        ? withoutSecrets(v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** The fields of `before` and `after` that differ, each as {before, after}. */
export function changedFields(
  before: object,
  after: object,
): Record<string, { before: unknown; after: unknown }> {
  const out: Record<string, { before: unknown; after: unknown }> = {};
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  for (const k of new Set([...Object.keys(b), ...Object.keys(a)])) {
    if (JSON.stringify(b[k]) !== JSON.stringify(a[k]))
      out[k] = { before: b[k] ?? null, after: a[k] ?? null };
  }
  return out;
}

/** Who is acting: the channel, the principal, the client's address. */
export interface Actor {
  channel: AuditChannel;
  principal: string | null;
  client: string | null;
}

/** The command line, run by whoever may run it on the server. */
export const CLI_ACTOR: Actor = { channel: 'cli', principal: null, client: null };
/** The server itself (housekeeping, deliveries). */
export const SYSTEM_ACTOR: Actor = { channel: 'system', principal: null, client: null };
