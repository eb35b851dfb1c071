import { open } from 'node:fs/promises';

/** fsync of a file or folder by its path. */
async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

interface Batch {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface PathState {
  /** The fsync running now, if any. */
  running: boolean;
  /** Callers waiting for the next fsync, which starts when the running one ends. */
  next: Batch | null;
}

/**
 * fsyncs of one path shared by the callers waiting at the same time. `sync(path)` resolves only
 * after an fsync of `path` that started after the call (so it covers whatever the caller wrote or
 * renamed there before): at once if none is running; else with everyone who asks before the
 * running one ends, in one fsync started then. Under load, N callers cost about two fsyncs, not
 * N. An fsync that fails rejects only the callers that waited for it.
 */
export class SharedFsync {
  readonly #states = new Map<string, PathState>();
  readonly #fsync: (path: string) => Promise<void>;

  constructor(fsync: (path: string) => Promise<void> = fsyncPath) {
    this.#fsync = fsync;
  }

  sync(path: string): Promise<void> {
    let state = this.#states.get(path);
    if (!state) {
      state = { running: false, next: null };
      this.#states.set(path, state);
    }
    state.next ??= newBatch();
    const { promise } = state.next;
    if (!state.running) this.#start(path, state);
    return promise;
  }

  #start(path: string, state: PathState): void {
    const batch = state.next!;
    state.next = null;
    state.running = true;
    this.#fsync(path)
      .then(batch.resolve, batch.reject)
      .finally(() => {
        state.running = false;
        if (state.next) this.#start(path, state);
        else this.#states.delete(path);
      });
  }
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
