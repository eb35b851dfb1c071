import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import { Worker } from 'node:worker_threads';
import { VoicegateError } from './errors.ts';

/**
 * The threads that derive code hashes (scrypt), off the event loop, at most `threads` at once,
 * with at most `maxWaiting` more in line: a flood of log-ins waits, then is refused as
 * UNAVAILABLE, and never grows memory without bound.
 *
 * Each thread lowers its own CPU priority (`nice`, Linux only) so that hashing takes only the
 * CPU that the event loop (greetings, replies) and the media thread leave idle: the kernel
 * preempts it for them. The pool lowers a new thread too, as soon as it exists: its start-up
 * (a V8 isolate, tens of ms of CPU) then also waits for idle CPU, instead of taking a core from
 * the event loop in the burst of log-ins that started it. A thread that cannot lower itself
 * (another OS) makes the pool fall back to `fallbackThreads`, which leaves the event loop a core
 * of its own instead.
 *
 * A thread that dies fails the one derivation it held; the next one in line starts a new thread.
 * Idle threads never keep the process alive, and end after `idleMs`.
 */
export interface CodeHashPoolOptions {
  threads: number;
  fallbackThreads: number;
  maxWaiting: number;
  /** The hashing threads' nice value; null: leave their priority alone (and use fallbackThreads). */
  nice: number | null;
  idleMs: number;
  /** The thread's module (a test may wrap the real one). */
  workerUrl?: URL;
}

export interface ScryptInput {
  code: string;
  salt: Buffer;
  N: number;
  r: number;
  p: number;
  keyLength: number;
}

/** A derivation as the thread gets it (code-hash-worker.js). */
interface HashJob {
  id: number;
  code: string;
  salt: Uint8Array;
  N: number;
  r: number;
  p: number;
  keyLength: number;
}

/** What the thread answers: first its priority, then each derivation's key or failure. */
type HashReply =
  | { op: 'ready'; tid: number | null; nice: number | null }
  | { op: 'key'; id: number; key: Uint8Array }
  | { op: 'failed'; id: number; message: string };

interface Job {
  input: ScryptInput;
  resolve: (key: Buffer) => void;
  reject: (err: Error) => void;
}

interface Thread {
  worker: Worker;
  job: Job | null;
  idle: NodeJS.Timeout | null;
  /** From the thread itself once it started: its id and nice value (null: not lowered). */
  priority: { tid: number | null; nice: number | null } | null;
}

const WORKER = new URL('./code-hash-worker.js', import.meta.url);

export class CodeHashPool {
  readonly #options: CodeHashPoolOptions;
  readonly #threads = new Set<Thread>();
  readonly #waiting: Job[] = [];
  #limit: number;
  #nextId = 1;

  constructor(options: CodeHashPoolOptions) {
    this.#options = options;
    this.#limit = Math.max(1, options.nice === null ? options.fallbackThreads : options.threads);
  }

  /** How many derivations may run at once now (lower once a thread could not lower itself). */
  get limit(): number {
    return this.#limit;
  }

  /** Threads alive, derivations running and waiting in line. */
  stats(): { threads: number; running: number; waiting: number } {
    let running = 0;
    for (const thread of this.#threads) if (thread.job) running++;
    return { threads: this.#threads.size, running, waiting: this.#waiting.length };
  }

  /** The live threads' ids and nice values as they reported them (for checks and tests). */
  priorities(): { tid: number | null; nice: number | null }[] {
    return [...this.#threads].flatMap((t) => (t.priority ? [t.priority] : []));
  }

  derive(input: ScryptInput): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const job = { input, resolve, reject };
      const thread = this.#freeThread();
      if (thread) return this.#run(thread, job);
      if (this.#waiting.length >= this.#options.maxWaiting)
        return reject(new VoicegateError('UNAVAILABLE', 'too many code checks waiting'));
      this.#waiting.push(job);
    });
  }

  /** Ends every thread; derivations running or waiting fail. A later one starts threads anew. */
  async close(): Promise<void> {
    const threads = [...this.#threads];
    this.#threads.clear();
    const stopped = new VoicegateError('UNAVAILABLE', 'code checks stopped');
    for (const job of this.#waiting.splice(0)) job.reject(stopped);
    for (const thread of threads) {
      if (thread.idle) clearTimeout(thread.idle);
      thread.job?.reject(stopped);
      thread.job = null;
    }
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  #freeThread(): Thread | null {
    for (const thread of this.#threads) if (!thread.job) return thread;
    return this.#threads.size < this.#limit ? this.#spawn() : null;
  }

  #spawn(): Thread {
    const nice = this.#options.nice;
    const before = nice === null ? null : threadIds();
    const worker = new Worker(this.#options.workerUrl ?? WORKER, {
      workerData: { nice },
      name: 'voicegate-code-hash',
      // The thread runs next to no JavaScript: a small heap keeps its memory small.
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
    });
    if (before && nice !== null) lowerNewThread(before, nice);
    const thread: Thread = { worker, job: null, idle: null, priority: null };
    this.#threads.add(thread);
    worker.on('message', (reply: HashReply) => this.#onReply(thread, reply));
    const died = (err: Error): void => {
      if (!this.#threads.delete(thread)) return;
      if (thread.idle) clearTimeout(thread.idle);
      thread.job?.reject(
        new VoicegateError('UNAVAILABLE', 'the code check failed', { cause: err }),
      );
      thread.job = null;
      this.#next();
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`a code-hashing thread exited (code ${code})`)));
    return thread;
  }

  #onReply(thread: Thread, reply: HashReply): void {
    if (reply.op === 'ready') {
      thread.priority = { tid: reply.tid, nice: reply.nice };
      if (this.#options.nice !== null && reply.nice === null)
        this.#limit = Math.max(1, this.#options.fallbackThreads);
      return;
    }
    const job = thread.job;
    if (!job) return;
    thread.job = null;
    if (reply.op === 'key')
      job.resolve(Buffer.from(reply.key.buffer, reply.key.byteOffset, reply.key.length));
    else job.reject(new VoicegateError('INVALID_INPUT', reply.message));
    if (this.#threads.size > this.#limit) {
      this.#threads.delete(thread);
      void thread.worker.terminate();
    } else this.#release(thread);
    this.#next();
  }

  #run(thread: Thread, job: Job): void {
    if (thread.idle) clearTimeout(thread.idle);
    thread.idle = null;
    thread.job = job;
    thread.worker.ref();
    const { code, salt, N, r, p, keyLength } = job.input;
    thread.worker.postMessage({
      id: this.#nextId++,
      code,
      salt,
      N,
      r,
      p,
      keyLength,
    } satisfies HashJob);
  }

  /** An idle thread holds nothing open: the process may exit, and the thread ends after idleMs. */
  #release(thread: Thread): void {
    thread.worker.unref();
    thread.idle = setTimeout(() => {
      if (thread.job || !this.#threads.delete(thread)) return;
      void thread.worker.terminate();
    }, this.#options.idleMs);
    thread.idle.unref();
  }

  #next(): void {
    while (this.#waiting.length > 0) {
      const thread = this.#freeThread();
      if (!thread) return;
      this.#run(thread, this.#waiting.shift()!);
    }
  }
}

/** The process's thread ids (Linux's /proc/self/task); none where there is no such folder. */
function threadIds(): Set<string> {
  try {
    return new Set(readdirSync('/proc/self/task'));
  } catch {
    return new Set();
  }
}

/**
 * Lowers the thread `new Worker()` has just created (it returns once the OS thread exists, before
 * the thread has set up its isolate) to `nice`: the one thread id that was not there `before`.
 * Nothing where that is not exactly one (another thread started meanwhile, no /proc): the thread
 * then runs its start-up at the event loop's priority and lowers itself when it has started.
 */
function lowerNewThread(before: Set<string>, nice: number): void {
  const born = [...threadIds()].filter((tid) => !before.has(tid));
  if (born.length !== 1) return;
  try {
    setPriority(Number(born[0]), nice);
  } catch {
    // Not allowed here: the thread lowers itself once started.
  }
}
