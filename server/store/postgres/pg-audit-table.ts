import type { AuditQuery, AuditRecord, NewAuditRecord } from '../../domain/audit.ts';
import type { AuditStore } from '../../domain/ports.ts';
import { auditWhere, rowToAudit, type AuditRow } from '../audit-table.ts';
import type { PgAccess } from './pg-access.ts';

/** The audit trail in PostgreSQL (details as JSONB). */
export class PgAuditTable implements AuditStore {
  readonly #db: PgAccess;
  constructor(db: PgAccess) {
    this.#db = db;
  }

  async addAudit(r: NewAuditRecord): Promise<AuditRecord> {
    const row = await this.#db.sql.row<AuditRow>(
      `INSERT INTO audit (at, kind, channel, principal, mailbox, client, outcome, reason, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
      [
        r.at,
        r.kind,
        r.channel,
        r.principal,
        r.mailbox,
        r.client,
        r.outcome,
        r.reason,
        r.details === null ? null : JSON.stringify(r.details),
      ],
    );
    return rowToAudit(row!);
  }

  async queryAudit(q: AuditQuery): Promise<AuditRecord[]> {
    const { where, params } = auditWhere(q, (n) => `$${n}`);
    const rows = await this.#db.sql.rows<AuditRow>(
      `SELECT * FROM audit ${where} ORDER BY id DESC LIMIT $${params.length + 1}`,
      [...params, q.limit],
    );
    return rows.map(rowToAudit);
  }

  async pruneAudit(before: number): Promise<number> {
    const rows = await this.#db.sql.rows('DELETE FROM audit WHERE at < $1 RETURNING id', [before]);
    return rows.length;
  }
}
