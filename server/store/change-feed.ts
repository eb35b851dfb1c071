import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { ChangeFeed } from '../domain/ports.ts';

type Listener = (mailboxId: number, modseq: number) => void;

/**
 * The change feed reads the journal table, so changes committed by this process and by any
 * other (the CLI while the server runs) wake subscribers the same way: once per mailbox per
 * look, with the mailbox's newest modseq. SQLite has one writer at a time, so the journal's
 * `seq` rises in commit order and serves here as the feed's own cursor; it is not part of the
 * contract (see ChangeFeed). Local commits call `poke()`; other processes' commits are noticed
 * by checking SQLite's `data_version`, which changes only when another connection has
 * committed: a cheap check. It runs when the WAL file changes (inotify on its folder: within a
 * millisecond of a commit) and every `intervalMs` in case the watch misses one (a file system
 * without notifications).
 */
/** After a write to the WAL, when to look again for the commit it belongs to. */
const TRAILING_CHECKS_MS = [5, 20, 50];

export class JournalFeed implements ChangeFeed {
  readonly #db: DatabaseSync;
  readonly #intervalMs: number;
  readonly #onError: (err: unknown) => void;
  readonly #listeners = new Set<Listener>();
  readonly #since: StatementSync;
  readonly #dataVersion: StatementSync;
  #lastSeq = 0;
  #lastDataVersion = -1;
  #timer: NodeJS.Timeout | undefined;
  readonly #walFile: string | null;
  #watcher: FSWatcher | null = null;
  #checkQueued = false;
  #trail = 0;
  #trailTimer: NodeJS.Timeout | undefined;

  /** `walFile`: the database's `-wal` file, watched for other processes' commits. */
  constructor(
    db: DatabaseSync,
    opts: { intervalMs?: number; onError?: (err: unknown) => void; walFile?: string } = {},
  ) {
    this.#db = db;
    this.#walFile = opts.walFile ?? null;
    this.#intervalMs = opts.intervalMs ?? 100;
    this.#onError = opts.onError ?? (() => {});
    this.#since = db.prepare(
      'SELECT mailbox_id, MAX(modseq) AS modseq, MAX(seq) AS seq FROM journal WHERE seq > ? AND seq <= ? GROUP BY mailbox_id',
    );
    this.#dataVersion = db.prepare('PRAGMA data_version');
  }

  subscribe(listener: Listener): () => void {
    if (this.#listeners.size === 0) this.#start();
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.stop();
    };
  }

  /**
   * Wakes subscribers for whatever was committed since the last look, up to journal entry `upTo`
   * (a group commit announces its own entries once durable, not those committed after it).
   */
  poke(upTo = Number.MAX_SAFE_INTEGER): void {
    if (this.#listeners.size === 0 || !this.#db.isOpen) return;
    let rows: { mailbox_id: number; modseq: number; seq: number }[];
    try {
      rows = this.#since.all(this.#lastSeq, upTo) as unknown as typeof rows;
    } catch (err) {
      this.#onError(err);
      return;
    }
    for (const row of rows) this.#lastSeq = Math.max(this.#lastSeq, Number(row.seq));
    for (const row of rows) {
      for (const listener of this.#listeners) {
        try {
          listener(Number(row.mailbox_id), Number(row.modseq));
        } catch (err) {
          this.#onError(err);
        }
      }
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    clearTimeout(this.#trailTimer);
    this.#watcher?.close();
    this.#watcher = null;
  }

  #start(): void {
    const row = this.#db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM journal').get() as {
      seq: number;
    };
    this.#lastSeq = Number(row.seq);
    // Only another connection's commits change it: ours are announced by poke(), once durable.
    this.#lastDataVersion = Number(
      (this.#dataVersion.get() as { data_version: number }).data_version,
    );
    this.#timer = setInterval(() => this.#check(), this.#intervalMs);
    this.#timer.unref();
    if (this.#walFile) {
      // The folder, not the file: SQLite deletes the WAL when the last connection closes and
      // makes it anew, and a watch on a file that is gone hears nothing.
      const wal = basename(this.#walFile);
      try {
        this.#watcher = watch(dirname(this.#walFile), { persistent: false }, (_event, name) => {
          if (name === wal) this.#queueCheck();
        });
        this.#watcher.on('error', () => {
          this.#watcher?.close();
          this.#watcher = null;
        });
      } catch {
        this.#watcher = null; // no notifications here: the interval still checks
      }
    }
  }

  /**
   * Many writes per commit, one check: the events of one turn of the event loop coalesce. The
   * last write of a commit comes before its fsync and before SQLite publishes the commit (in
   * the shared-memory index, which makes no event), so checks follow 5, 20 and 50 ms later.
   */
  #queueCheck(): void {
    this.#trail = 0;
    this.#armTrail();
    if (this.#checkQueued) return;
    this.#checkQueued = true;
    setImmediate(() => {
      this.#checkQueued = false;
      this.#check();
    });
  }

  #armTrail(): void {
    clearTimeout(this.#trailTimer);
    const delay = TRAILING_CHECKS_MS[this.#trail];
    if (delay === undefined) return;
    const since = this.#trail === 0 ? 0 : TRAILING_CHECKS_MS[this.#trail - 1]!;
    this.#trailTimer = setTimeout(() => {
      this.#trail++;
      this.#check();
      this.#armTrail();
    }, delay - since);
    this.#trailTimer.unref();
  }

  #check(): void {
    if (!this.#db.isOpen) return;
    const version = Number((this.#dataVersion.get() as { data_version: number }).data_version);
    if (version === this.#lastDataVersion) return;
    this.#lastDataVersion = version;
    this.poke();
  }
}
