import {
  withoutSecrets,
  type Actor,
  type AuditKind,
  type AuditOutcome,
  type NewAuditRecord,
} from './audit.ts';
import type { AuditStore, DomainLogger } from './ports.ts';

export const DEFAULT_AUDIT_RETENTION_DAYS = 365;

/** One event to put on record, as the services describe it. */
export interface AuditEvent {
  kind: AuditKind;
  actor: Actor;
  mailbox?: string | null;
  outcome?: AuditOutcome;
  reason?: string | null;
  details?: Record<string, unknown> | null;
}

/**
 * Writes audit records: each one is kept in the store and logged once, as one record whose
 * field `audit` holds it (what the syslog forwarder sends on). Secrets never enter it: details
 * are stripped of any field that could hold one. A record that cannot be stored is still
 * logged, with the reason, and the act it describes goes on: the trail must not become a way
 * to stop logins.
 */
export class AuditTrail {
  readonly #store: AuditStore;
  readonly #log: DomainLogger;
  readonly #now: () => number;
  constructor(deps: { store: AuditStore; log: DomainLogger; now?: () => number }) {
    this.#store = deps.store;
    this.#log = deps.log;
    this.#now = deps.now ?? Date.now;
  }

  async record(e: AuditEvent): Promise<void> {
    const record: NewAuditRecord = {
      at: this.#now(),
      kind: e.kind,
      channel: e.actor.channel,
      principal: e.actor.principal,
      mailbox: e.mailbox ?? null,
      client: e.actor.client,
      outcome: e.outcome ?? 'success',
      reason: e.reason ?? null,
      details: e.details ? withoutSecrets(e.details) : null,
    };
    const message = `audit: ${record.kind} ${record.outcome}`;
    if (record.outcome === 'failure') this.#log.warn({ audit: record }, message);
    else this.#log.info({ audit: record }, message);
    try {
      await this.#store.addAudit(record);
    } catch (err) {
      this.#log.warn({ err, audit: record }, 'audit record could not be stored');
    }
  }
}
