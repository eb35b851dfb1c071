import pg from 'pg';
import { isVoicegateError, VoicegateError } from '../../domain/errors.ts';
import type { Change, MailFolder } from '../../domain/message.ts';
import type { MessageState } from '../../domain/message-state.ts';
import { PgHosts } from './pg-hosts.ts';

/** The channel NOTIFY wakes listeners on: `<mailbox id>:<modseq>`, sent by the committing transaction. */
export const JOURNAL_CHANNEL = 'voicegate_journal';

/** One query runner: a pool, or the client of a transaction. */
export interface Sql {
  rows<T>(text: string, params?: unknown[]): Promise<T[]>;
  row<T>(text: string, params?: unknown[]): Promise<T | undefined>;
}

type Query = (text: string, params: unknown[]) => Promise<pg.QueryResult>;

function runner(query: Query, failed: (err: unknown) => unknown): Sql {
  return {
    rows: async <T>(text: string, params: unknown[] = []) => {
      try {
        return (await query(text, params)).rows as T[];
      } catch (err) {
        throw failed(err);
      }
    },
    row: async <T>(text: string, params: unknown[] = []) => {
      try {
        return (await query(text, params)).rows[0] as T | undefined;
      } catch (err) {
        throw failed(err);
      }
    },
  };
}

/** PostgreSQL's errors as the domain's: a full disk, a unique key taken, a server gone. */
export function pgError(err: unknown): unknown {
  if (err instanceof VoicegateError) return err;
  const e = err as { code?: string; constraint?: string; message?: string };
  if (e.code === '53100')
    return new VoicegateError('STORAGE_FULL', 'no space left in the store', { cause: err });
  const unique = /^mailbox_(name|extension)_key$/.exec(e.constraint ?? '');
  if (e.code === '23505' && unique)
    return new VoicegateError('ALREADY_EXISTS', `a mailbox with this ${unique[1]} already exists`);
  if (
    e.code?.startsWith('08') ||
    e.code === '25006' || // a server that no longer takes writes (a primary turned standby)
    e.code?.startsWith('57P') ||
    ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE'].includes(e.code ?? '') ||
    /Connection terminated|Client has encountered a connection error|pool after calling end/i.test(
      e.message ?? '',
    )
  )
    return new VoicegateError('UNAVAILABLE', 'the store is unavailable; try again', {
      cause: err,
    });
  return err;
}

/** A deadlock or a serialisation failure: the transaction is run again, it changed nothing. */
const RETRIED = new Set(['40P01', '40001']);

/**
 * The pool and what the tables share: queries, transactions, the journal. Every change of a
 * mailbox or its messages takes the mailbox's row lock (the journal's modseq update, or
 * `lockMailboxes` first), so a mailbox's changes are serialised across nodes: modseqs and UIDs
 * rise strictly in commit order.
 */
export class PgAccess {
  readonly pool: pg.Pool;
  readonly sql: Sql;
  /** The servers of the URL and the one in use (pg-hosts.ts). */
  readonly hosts: PgHosts;
  closed = false;

  constructor(url: string) {
    this.hosts = new PgHosts(url);
    this.pool = new pg.Pool(this.hosts.poolConfig());
    // An idle client's connection lost (a server restart) is no crash: the pool drops it, and
    // the server is looked for again (it may have been a primary that is gone).
    this.pool.on('error', () => this.hosts.forget());
    this.sql = runner(
      (text, params) => this.#query(text, params),
      (err) => this.#failed(err),
    );
  }

  /** A pooled connection; with several hosts, once more when the one in use has gone. */
  async #connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (err) {
      const failed = this.#failed(err);
      if (!this.hosts.checked || !isVoicegateError(failed, 'UNAVAILABLE')) throw failed;
    }
    try {
      return await this.pool.connect();
    } catch (err) {
      throw this.#failed(err);
    }
  }

  /** One statement on its own (autocommit). */
  async #query(text: string, params: unknown[]): Promise<pg.QueryResult> {
    const client = await this.#connect();
    let broken = false;
    const lost = (): void => {
      broken = true;
    };
    client.on('error', lost);
    try {
      return await client.query(text, params);
    } catch (err) {
      if (isVoicegateError(this.#failed(err), 'UNAVAILABLE')) broken = true;
      throw err;
    } finally {
      client.off('error', lost);
      client.release(broken);
    }
  }

  /** The domain's error; a server gone (or no longer the primary) is looked for again. */
  #failed(err: unknown): unknown {
    const e = pgError(err);
    if (isVoicegateError(e, 'UNAVAILABLE')) this.hosts.forget();
    return e;
  }

  /** Runs `fn` in one transaction (READ COMMITTED, row locks), again after a deadlock. */
  async tx<T>(fn: (t: Sql) => Promise<T>, mode = 'READ WRITE'): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.#connect();
      let broken = false;
      // A connection lost between two statements of the transaction is reported as an event:
      // without a listener it would end the process; the statement under way fails anyway.
      const lost = (): void => {
        broken = true;
      };
      client.on('error', lost);
      try {
        await client.query(`BEGIN ${mode}`);
        const result = await fn(
          runner(
            (text, params) => client.query(text, params),
            (e) => this.#failed(e),
          ),
        );
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        const code = (err as { code?: string }).code ?? '';
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? '';
        if ((RETRIED.has(code) || RETRIED.has(cause)) && attempt < 5) continue;
        const failed = this.#failed(err);
        if (isVoicegateError(failed, 'UNAVAILABLE')) broken = true;
        throw failed;
      } finally {
        client.off('error', lost);
        client.release(broken);
      }
    }
  }

  /** Takes the row locks of these mailboxes, in id order (no deadlock between two writers). */
  async lockMailboxes(t: Sql, ids: number[]): Promise<void> {
    const sorted = [...new Set(ids)].sort((a, b) => a - b);
    await t.rows('SELECT id FROM mailbox WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE', [
      sorted,
    ]);
  }

  /**
   * Raises the mailbox's modseq (taking its row lock), writes a journal entry and queues the
   * wake-up, sent by PostgreSQL when this transaction commits. Returns the modseq; 0 when the
   * mailbox is gone. `modseq` given: a second entry of one change (a move).
   */
  async journal(
    t: Sql,
    mailboxId: number,
    kind: Change['kind'],
    messageId: string | null,
    state: MessageState | null,
    at: number,
    place: { folder: MailFolder; uid: number } | null = null,
    modseq?: number,
  ): Promise<number> {
    if (modseq === undefined) {
      const row = await t.row<{ modseq: number }>(
        'UPDATE mailbox SET modseq = modseq + 1 WHERE id = $1 RETURNING modseq',
        [mailboxId],
      );
      modseq = row?.modseq ?? 0;
    }
    await t.rows(
      `INSERT INTO journal (mailbox_id, modseq, kind, message_id, state, folder, uid, at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [mailboxId, modseq, kind, messageId, state, place?.folder ?? null, place?.uid ?? null, at],
    );
    await t.rows('SELECT pg_notify($1, $2)', [JOURNAL_CHANNEL, `${mailboxId}:${modseq}`]);
    return modseq;
  }

  /** Of these audio keys, those no message, greeting or delivery refers to any more. */
  async unusedAudio(t: Sql, keys: string[]): Promise<string[]> {
    const unique = [...new Set(keys)];
    if (unique.length === 0) return [];
    const used = await t.rows<{ k: string }>(
      `SELECT k FROM unnest($1::text[]) AS k WHERE EXISTS (SELECT 1 FROM message WHERE audio_key = k)
         OR EXISTS (SELECT 1 FROM greeting WHERE audio_key = k) OR EXISTS (SELECT 1 FROM delivery WHERE audio_key = k)`,
      [unique],
    );
    const usedSet = new Set(used.map((r) => r.k));
    return unique.filter((k) => !usedSet.has(k));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
