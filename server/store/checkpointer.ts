import { Worker } from 'node:worker_threads';

/** What one checkpoint did (SQLite's wal_checkpoint row, and how long it took). */
export interface CheckpointDone {
  mode: 'PASSIVE' | 'RESTART' | 'TRUNCATE';
  /** 1 if it could not finish for a reader or writer in the way. */
  busy: number;
  /** Frames in the WAL; 0 once truncated. */
  log: number;
  /** Of them, frames now in the database. */
  checkpointed: number;
  ms: number;
}

export interface CheckpointerOptions {
  /** The thread starts once this many commits were made without it (a short CLI run never does). */
  startAfterCommits: number;
  /** While commits come, a PASSIVE checkpoint (it never waits for or holds back a writer) this often. */
  intervalMs: number;
  /** No commit for this long: the WAL is copied whole and truncated to nothing (TRUNCATE). */
  quietMs: number;
  /** No commit for this long after that: the thread ends (a new one starts with new commits). */
  idleMs: number;
  /** A WAL of more frames than this after a PASSIVE checkpoint is started over (RESTART). */
  boundFrames: number;
  /** For how long that RESTART is tried, right after each commit, before PASSIVE ones go on. */
  restartTimeoutMs: number;
  onCheckpoint?: (done: CheckpointDone) => void;
  /** Told each time the thread starts. */
  onStart?: () => void;
  onError?: (err: Error) => void;
}

export const CHECKPOINT_DEFAULTS: CheckpointerOptions = {
  startAfterCommits: 64,
  intervalMs: 200,
  quietMs: 1000,
  // A server gone quiet gives the thread's memory (about 15 MiB) back soon; starting one again
  // costs a few ms of CPU once per busy spell.
  idleMs: 6_000,
  // 64 MiB of 4 KiB pages.
  boundFrames: 16_384,
  restartTimeoutMs: 1000,
};

const WORKER = new URL('./checkpoint-worker.js', import.meta.url);

type Reply =
  ({ op: 'checkpoint' } & CheckpointDone) | { op: 'error'; message: string; code?: string };

/**
 * Checkpoints of an embedded store's WAL, off the event loop. The serving connection runs with
 * wal_autocheckpoint off: SQLite would otherwise copy the WAL into the database, and fsync it,
 * inside whichever COMMIT passed 1,000 pages, on the main thread. Instead a worker thread with a
 * connection of its own (`checkpoint-worker.js`) checkpoints while commits come and empties the
 * WAL when they stop. The thread is told of commits through a shared counter (no message, no
 * wake-up per commit); it starts after a few commits and ends when idle, so a store at rest
 * holds no thread.
 *
 * Durability does not depend on it: every commit is durable in the WAL before it is answered,
 * and a checkpoint fsyncs the WAL before it copies from it. A checkpoint that fails leaves the
 * WAL's frames where they are, and the next one copies them again.
 */
export class Checkpointer {
  readonly #path: string;
  readonly #options: CheckpointerOptions;
  readonly #commits = new Int32Array(new SharedArrayBuffer(4));
  #worker: Worker | null = null;
  #withoutThread = 0;
  #closed = false;

  constructor(path: string, options: Partial<CheckpointerOptions> = {}) {
    this.#path = path;
    this.#options = { ...CHECKPOINT_DEFAULTS, ...options };
  }

  /** Called after each commit of the serving connection. */
  committed(): void {
    Atomics.add(this.#commits, 0, 1);
    if (this.#worker) {
      // Wakes the thread only if it waits for a commit to start the WAL over (checkpoint-worker.js).
      Atomics.notify(this.#commits, 0);
      return;
    }
    if (this.#closed) return;
    if (++this.#withoutThread >= this.#options.startAfterCommits) this.#start();
  }

  /** Ends the thread, its connection closed (a checkpoint running finishes first). */
  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    if (!worker) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    // Waited for: the process must not end (its loop empty) before the thread's connection closed.
    worker.ref();
    worker.postMessage({ op: 'close' });
    await exited;
  }

  #start(): void {
    const { onCheckpoint, onError, onStart, ...settings } = this.#options;
    const worker = new Worker(WORKER, {
      workerData: { path: this.#path, commits: this.#commits.buffer, ...settings },
      name: 'voicegate-checkpoint',
    });
    // Checkpoints are not what keeps a server running, nor what makes a commit durable.
    worker.unref();
    worker.on('message', (reply: Reply) => {
      if (reply.op === 'checkpoint') onCheckpoint?.(reply);
      else
        onError?.(
          Object.assign(new Error(`WAL checkpoint failed: ${reply.message}`), { code: reply.code }),
        );
    });
    worker.on('error', (err) => onError?.(err));
    worker.on('exit', () => {
      if (this.#worker === worker) this.#worker = null;
      this.#withoutThread = 0;
    });
    this.#worker = worker;
    onStart?.();
  }
}
