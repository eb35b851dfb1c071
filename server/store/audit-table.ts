import type { AuditQuery, AuditRecord, NewAuditRecord } from '../domain/audit.ts';
import type { AuditStore } from '../domain/ports.ts';
import type { SqlAccess } from './sql-access.ts';

export interface AuditRow {
  id: number;
  at: number;
  kind: string;
  channel: string;
  principal: string | null;
  mailbox: string | null;
  client: string | null;
  outcome: string;
  reason: string | null;
  details: string | Record<string, unknown> | null;
}

export function rowToAudit(r: AuditRow): AuditRecord {
  return {
    id: Number(r.id),
    at: Number(r.at),
    kind: r.kind as AuditRecord['kind'],
    channel: r.channel as AuditRecord['channel'],
    principal: r.principal,
    mailbox: r.mailbox,
    client: r.client,
    outcome: r.outcome as AuditRecord['outcome'],
    reason: r.reason,
    details:
      typeof r.details === 'string'
        ? (JSON.parse(r.details) as Record<string, unknown>)
        : r.details,
  };
}

/** The WHERE clause of a search and its parameters, `?` or `$n` as the back end numbers them. */
export function auditWhere(
  q: AuditQuery,
  placeholder: (n: number) => string,
): { where: string; params: (string | number)[] } {
  const terms: string[] = [];
  const params: (string | number)[] = [];
  const add = (sql: string, v: string | number): void => {
    params.push(v);
    terms.push(sql.replace('#', placeholder(params.length)));
  };
  if (q.mailbox !== undefined) add('mailbox = #', q.mailbox);
  if (q.kind !== undefined) add('kind = #', q.kind);
  if (q.principal !== undefined) add('principal = #', q.principal);
  if (q.since !== undefined) add('at >= #', q.since);
  if (q.until !== undefined) add('at < #', q.until);
  if (q.before !== undefined) add('id < #', q.before);
  return { where: terms.length ? `WHERE ${terms.join(' AND ')}` : '', params };
}

/** The audit trail in SQLite. */
export class AuditTable implements AuditStore {
  readonly #db: SqlAccess;
  constructor(db: SqlAccess) {
    this.#db = db;
  }

  async addAudit(r: NewAuditRecord): Promise<AuditRecord> {
    // Log-ins and sign-ins record one each on the way of their reply: a shared commit (groupTx).
    const row = await this.#db.groupTx(
      () =>
        this.#db
          .sql(
            `INSERT INTO audit (at, kind, channel, principal, mailbox, client, outcome, reason, details)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
          )
          .get(
            r.at,
            r.kind,
            r.channel,
            r.principal,
            r.mailbox,
            r.client,
            r.outcome,
            r.reason,
            r.details === null ? null : JSON.stringify(r.details),
          ) as unknown as AuditRow,
    );
    return rowToAudit(row);
  }

  async queryAudit(q: AuditQuery): Promise<AuditRecord[]> {
    const { where, params } = auditWhere(q, () => '?');
    const rows = this.#db
      .sql(`SELECT * FROM audit ${where} ORDER BY id DESC LIMIT ?`)
      .all(...params, q.limit) as unknown as AuditRow[];
    return rows.map(rowToAudit);
  }

  async pruneAudit(before: number): Promise<number> {
    return this.#db.tx(() =>
      Number(this.#db.sql('DELETE FROM audit WHERE at < ?').run(before).changes),
    );
  }
}
