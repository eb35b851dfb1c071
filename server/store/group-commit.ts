import { open, type FileHandle } from 'node:fs/promises';
import type { DatabaseSync } from 'node:sqlite';
import { SharedFsync } from './shared-fsync.ts';
import { storeError } from './sql-access.ts';

/** A checkpoint that makes good for a failed WAL fsync, tried this often while another runs. */
const LOST_CHECKPOINT_TRIES = 50;
const LOST_CHECKPOINT_WAIT_MS = 20;

interface Waiting {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for deposits, and for log-ins' writes (`groupTx`). Deposits that become ready in
 * the same turn of the event loop (their audio written by the thread pool at about the same time)
 * share one transaction, each in a savepoint of its own: one that fails is undone alone and only
 * its caller hears of it.
 *
 * The shared COMMIT runs with synchronous=NORMAL, which appends to the WAL without waiting for
 * the disk; the WAL is then fsynced on libuv's thread pool (`SharedFsync`: commits that end while
 * one fsync runs share the next), so the main thread serves other work meanwhile. Nobody is
 * answered, and the change feed hears of nothing, before that fsync returned: nothing is
 * acknowledged or announced before it is durable. Every other commit of the connection keeps
 * synchronous=FULL, and checkpoints sync the WAL first in both modes.
 */
export class GroupCommit {
  #waiting: Waiting[] | null = null;
  readonly #db: DatabaseSync;
  readonly #walFile: string | undefined;
  readonly #committed: () => () => void;
  readonly #walSync = new SharedFsync(() => this.#syncWal());
  #wal: Promise<FileHandle> | null = null;
  /** The last group's answers, once given: close() waits for them. */
  #answered: Promise<void> = Promise.resolve();

  readonly #notDurable: (err: unknown) => void;

  /**
   * `walFile` is the database's WAL (none for a database in memory: its commits are answered at
   * once). `committed` runs right after each COMMIT and returns what to run once it is durable.
   * `notDurable` hears of a group committed whose WAL could not be made durable (its fsync and
   * the checkpoint after it failed).
   */
  constructor(
    db: DatabaseSync,
    walFile: string | undefined,
    committed: () => () => void,
    notDurable: (err: unknown) => void = () => {},
  ) {
    this.#db = db;
    this.#walFile = walFile;
    this.#committed = committed;
    this.#notDurable = notDurable;
  }

  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (!this.#waiting) {
        this.#waiting = [];
        // After the poll phase: the other deposits whose audio was written in it join.
        setImmediate(() => this.#commit());
      }
      this.#waiting.push({ work, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  /** Waits for the answers of groups committed and not yet durable, then lets the WAL go. */
  async close(): Promise<void> {
    await this.#answered;
    const wal = this.#wal;
    this.#wal = null;
    if (wal) await (await wal.catch(() => null))?.close();
  }

  #commit(): void {
    const group = this.#waiting ?? [];
    this.#waiting = null;
    const deferSync = this.#walFile !== undefined;
    let answers: (() => void)[] | null;
    try {
      answers = this.#transaction(group, deferSync);
    } finally {
      // Set back before anything else runs on this connection: other commits stay FULL.
      if (deferSync) this.#db.exec('PRAGMA synchronous = FULL');
    }
    if (!answers) return;
    const durable = this.#committed();
    const answer = (): void => {
      durable();
      for (const a of answers) a();
    };
    if (!deferSync) return answer();
    this.#answered = this.#walSync.sync(this.#walFile!).then(answer, this.#lost(group, answer));
  }

  /** Runs the group's work in one transaction: each caller's answer, or null if all failed. */
  #transaction(group: Waiting[], deferSync: boolean): (() => void)[] | null {
    const failAll = (err: unknown): null => {
      group.forEach((g) => g.reject(storeError(err)));
      return null;
    };
    try {
      // Set outside the transaction: SQLite refuses it inside.
      if (deferSync) this.#db.exec('PRAGMA synchronous = NORMAL');
      this.#db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      return failAll(err);
    }
    const answers: (() => void)[] = [];
    for (const g of group) {
      this.#db.exec('SAVEPOINT deposit');
      try {
        const result = g.work();
        this.#db.exec('RELEASE deposit');
        answers.push(() => g.resolve(result));
      } catch (err) {
        // Some errors (a full disk, I/O) make SQLite roll the whole transaction back itself.
        if (!this.#db.isTransaction) return failAll(err);
        this.#db.exec('ROLLBACK TO deposit');
        this.#db.exec('RELEASE deposit');
        answers.push(() => g.reject(storeError(err)));
      }
    }
    try {
      this.#db.exec('COMMIT');
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      return failAll(err);
    }
    return answers;
  }

  /**
   * The WAL's fsync failed, and the group's rows are committed: a checkpoint copies the WAL into
   * the database and fsyncs both (blocking, but only on this path). If it completes, the rows
   * are durable and the group is answered; else its callers hear the error and the store is told
   * (`notDurable`): the rows stay committed, readable, and perhaps lost at the next restart, so
   * the audio they name is kept (`AudioFiles.remove` removes only what no row names).
   */
  #lost(group: Waiting[], answer: () => void): (err: unknown) => Promise<void> {
    return async (err) => {
      for (let attempt = 0; attempt < LOST_CHECKPOINT_TRIES; attempt++) {
        let done: { busy: number; log: number; checkpointed: number };
        try {
          done = this.#db.prepare('PRAGMA wal_checkpoint(FULL)').get() as typeof done;
        } catch {
          break; // The fsync's error is the one to report.
        }
        if (done.busy === 0 && done.checkpointed === done.log) return answer();
        // Busy: the checkpointing thread's own checkpoint runs (checkpointer.ts), or a reader is
        // in the way. SQLite does not wait for another checkpoint: try again once it is over.
        await new Promise((resolve) => setTimeout(resolve, LOST_CHECKPOINT_WAIT_MS));
      }
      this.#notDurable(err);
      group.forEach((g) => g.reject(storeError(err)));
    };
  }

  /** fsync of the WAL through a handle kept open: SQLite keeps the file while the store is open. */
  async #syncWal(): Promise<void> {
    this.#wal ??= open(this.#walFile!, 'r');
    try {
      await (await this.#wal).sync();
    } catch (err) {
      this.#wal = null;
      throw err;
    }
  }
}
