import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { JournalFeed } from './change-feed.ts';
import { Checkpointer, type CheckpointerOptions } from './checkpointer.ts';
import { GroupCommit } from './group-commit.ts';
import { migrate } from './migrations.ts';
import { storeError } from './sql-access.ts';

export interface SqliteConnectionOptions {
  feedIntervalMs?: number;
  onFeedError?: (err: unknown) => void;
  /** The checkpointer's settings (checkpointer.ts); a database in memory has none. */
  checkpoints?: Partial<CheckpointerOptions>;
}

/**
 * The embedded store's connection: one SQLite file in WAL mode with synchronous=FULL, so that
 * every commit is on disk before the call returns (nothing is acknowledged before it is durable).
 * It holds the prepared statements and runs the write transactions, one at a time or grouped;
 * the change feed hears of what they wrote, the checkpointing thread of each commit. The tables
 * and the domain's methods on them are the store's (sqlite-store.ts).
 */
export class SqliteConnection {
  readonly db: DatabaseSync;
  readonly feed: JournalFeed;
  readonly #statements = new Map<string, StatementSync>();
  readonly #checkpointer: Checkpointer | null;
  /** Deposits and log-ins' writes ready at about the same time share a commit (group-commit.ts). */
  readonly #group: GroupCommit;
  readonly #lastJournalSeq: StatementSync;
  /** Why the store's writes may not be durable since a failed fsync; null if none failed. */
  #notDurable: string | null = null;

  constructor(path: string, opts: SqliteConnectionOptions = {}) {
    this.db = new DatabaseSync(path, { timeout: 5000 });
    try {
      this.db.exec(
        'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;',
      );
      migrate(this.db);
      // Checkpoints run on a thread of their own (checkpointer.ts), never inside a COMMIT here.
      if (path !== ':memory:') this.db.exec('PRAGMA wal_autocheckpoint = 0');
    } catch (err) {
      this.db.close();
      throw storeError(err);
    }
    const walFile = path === ':memory:' ? undefined : `${path}-wal`;
    this.#checkpointer = walFile ? new Checkpointer(path, opts.checkpoints) : null;
    this.#lastJournalSeq = this.db.prepare('SELECT MAX(seq) AS seq FROM journal');
    this.feed = new JournalFeed(this.db, {
      intervalMs: opts.feedIntervalMs,
      onError: opts.onFeedError,
      walFile,
    });
    this.#group = new GroupCommit(
      this.db,
      walFile,
      () => {
        this.#checkpointer?.committed();
        // Rows up to here are the group's (and durable ones before): announced once it is durable.
        const upTo = this.#lastJournalSeq.get() as { seq: number | null };
        return () => this.feed.poke(upTo.seq ?? 0);
      },
      (err) => {
        // As databases do on a failed fsync: no later fsync can vouch for what this one lost.
        this.#notDurable ??= `committed deposits could not be made durable (${(err as Error).message}); restart the server`;
      },
    );
  }

  /** Rows inserted, updated or deleted by this connection so far. */
  #totalChanges(): number {
    return (this.sql('SELECT total_changes() AS n').get() as { n: number }).n;
  }

  /** Prepared once per SQL text: preparing is a large part of a small query's cost. */
  sql(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `fn` in one write transaction; journal entries written inside reach the feed after commit. */
  tx<T>(fn: () => T): T {
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      throw storeError(err);
    }
    let result: T;
    let wrote: boolean;
    try {
      const before = this.#totalChanges();
      result = fn();
      wrote = this.#totalChanges() !== before;
      this.db.exec('COMMIT');
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw storeError(err);
    }
    // A transaction that changed no row (the delivery runner's claim on an empty queue, every
    // poll) wrote nothing to the WAL: counted, it would start the checkpointing thread (about
    // 10 MiB) on a server at rest and keep it alive.
    if (wrote) this.#checkpointer?.committed();
    this.feed.poke();
    return result;
  }

  groupTx<T>(fn: () => T): Promise<T> {
    return this.#group.run(fn);
  }

  /**
   * null while the database answers a query and its writes are durable; else why not. A failed
   * fsync of the WAL that no checkpoint made good stays reported until the server restarts.
   */
  health(): string | null {
    if (this.#notDurable) return `store unavailable: ${this.#notDurable}`;
    try {
      this.sql('SELECT 1').get();
      return null;
    } catch (err) {
      return `store unavailable: ${(err as Error).message}`;
    }
  }

  async close(): Promise<void> {
    this.feed.stop();
    await this.#group.close();
    await this.#checkpointer?.close();
    if (this.db.isOpen) this.db.close();
  }
}
