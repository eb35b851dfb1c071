import type { DatabaseSync } from 'node:sqlite';
import { storeError } from './sql-access.ts';

interface Waiting {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for deposits. With synchronous=FULL each COMMIT waits for the WAL's fsync on the
 * main thread; deposits that become ready in the same turn of the event loop (their audio
 * written by the thread pool at about the same time) share one transaction and so one fsync.
 * Each runs in a savepoint of its own: one that fails is undone alone and only its caller
 * hears of it. Nobody is answered before the shared COMMIT has returned, so nothing is
 * acknowledged before it is durable.
 */
export class GroupCommit {
  #waiting: Waiting[] | null = null;
  readonly #db: DatabaseSync;
  readonly #committed: () => void;

  constructor(db: DatabaseSync, committed: () => void) {
    this.#db = db;
    this.#committed = committed;
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

  #commit(): void {
    const group = this.#waiting ?? [];
    this.#waiting = null;
    const failAll = (err: unknown): void => group.forEach((g) => g.reject(storeError(err)));
    try {
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
    this.#committed();
    for (const answer of answers) answer();
  }
}
