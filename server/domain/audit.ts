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
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): Record<string, { before: unknown; after: unknown }> {
  const out: Record<string, { before: unknown; after: unknown }> = {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k]))
      out[k] = { before: before[k] ?? null, after: after[k] ?? null };
  }
  return out;
}
