import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { VoicegateError } from './errors.ts';

/**
 * The process that derives code hashes (scrypt, `code-hash-process.js`), off the event loop, at
 * most `threads` at once, with at most `maxWaiting` more in line: a flood of log-ins waits, then
 * is refused as UNAVAILABLE, and never grows memory without bound.
 *
 * A process of its own, not threads of the server's: the server runs on jemalloc, which gives
 * each check's 16 MiB scrypt block back to the system when it is freed, so every check faulted
 * its 4,096 pages in again (72 ms of CPU per check instead of 27, measured). The hashing process
 * runs on glibc's malloc, which keeps the block for the next check.
 *
 * The process runs at a lower CPU priority (`nice`, Linux only) so that hashing takes only the
 * CPU that the event loop (greetings, replies) and the media thread leave idle: the kernel
 * preempts it for them. The pool lowers it as soon as it exists, so its start-up (a Node
 * process, tens of ms of CPU) also waits for idle CPU instead of taking a core from the event
 * loop in the burst of log-ins that started it; the process lowers itself too, before its
 * hashing threads start, and they inherit it. A process that cannot lower itself (another OS)
 * makes the pool fall back to `fallbackThreads`, which leaves the event loop a core of its own.
 *
 * A process that dies fails the derivations it held; the next one starts a new process. An
 * idle process never keeps the server alive, and ends after `idleMs`.
 */
export interface CodeHashPoolOptions {
  /** Derivations at once: the hashing process's threads. */
  threads: number;
  fallbackThreads: number;
  maxWaiting: number;
  /** The hashing process's nice value; null: leave its priority alone (and use fallbackThreads). */
  nice: number | null;
  idleMs: number;
  /** The hashing process's module (a test may wrap the real one). */
  processUrl?: URL;
}

export interface ScryptInput {
  code: string;
  salt: Buffer;
  N: number;
  r: number;
  p: number;
  keyLength: number;
}

/** A derivation as the process gets it (code-hash-process.js); bytes in base64. */
interface HashJob {
  id: number;
  code: string;
  salt: string;
  N: number;
  r: number;
  p: number;
  keyLength: number;
}

/** What the process answers: first its priority, then each derivation's key or failure. */
type HashReply =
  | { op: 'ready'; pid: number; nice: number | null }
  | { op: 'key'; id: number; key: string }
  | { op: 'failed'; id: number; message: string };

interface Job {
  input: ScryptInput;
  resolve: (key: Buffer) => void;
  reject: (err: Error) => void;
}

interface Hasher {
  child: ChildProcess;
  /** Derivations sent and not answered yet, by id. */
  running: Map<number, Job>;
  idle: NodeJS.Timeout | null;
  /** From the process itself once it started: its pid and nice value (null: not lowered). */
  priority: { pid: number; nice: number | null } | null;
}

const PROCESS = new URL('./code-hash-process.js', import.meta.url);

/**
 * The server's allocator settings (bin/server-flags.js) are not the hashing process's: it runs
 * on glibc's malloc with its dynamic mmap threshold, which keeps the scrypt block in its heap.
 */
const NOT_PASSED_ON = ['LD_PRELOAD', 'MALLOC_CONF', 'MALLOC_MMAP_THRESHOLD_', 'NODE_OPTIONS'];

export class CodeHashPool {
  readonly #options: CodeHashPoolOptions;
  #hasher: Hasher | null = null;
  readonly #waiting: Job[] = [];
  #limit: number;
  #nextId = 1;

  constructor(options: CodeHashPoolOptions) {
    this.#options = options;
    this.#limit = Math.max(1, options.nice === null ? options.fallbackThreads : options.threads);
  }

  /** How many derivations may run at once now (lower once the process could not lower itself). */
  get limit(): number {
    return this.#limit;
  }

  /** Hashing processes alive (0 or 1), derivations running and waiting in line. */
  stats(): { processes: number; running: number; waiting: number } {
    return {
      processes: this.#hasher ? 1 : 0,
      running: this.#hasher?.running.size ?? 0,
      waiting: this.#waiting.length,
    };
  }

  /** The live process's pid and nice value as it reported them (for checks and tests). */
  priority(): { pid: number; nice: number | null } | null {
    return this.#hasher?.priority ?? null;
  }

  derive(input: ScryptInput): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const job = { input, resolve, reject };
      const hasher = this.#freeHasher();
      if (hasher) return this.#run(hasher, job);
      if (this.#waiting.length >= this.#options.maxWaiting)
        return reject(new VoicegateError('UNAVAILABLE', 'too many code checks waiting'));
      this.#waiting.push(job);
    });
  }

  /** Ends the process; derivations running or waiting fail. A later one starts a process anew. */
  async close(): Promise<void> {
    const hasher = this.#hasher;
    this.#hasher = null;
    const stopped = new VoicegateError('UNAVAILABLE', 'code checks stopped');
    for (const job of this.#waiting.splice(0)) job.reject(stopped);
    if (!hasher) return;
    if (hasher.idle) clearTimeout(hasher.idle);
    for (const job of hasher.running.values()) job.reject(stopped);
    hasher.running.clear();
    await stop(hasher.child);
  }

  /** The process, if it may take one more derivation now (started if there is none). */
  #freeHasher(): Hasher | null {
    const hasher = this.#hasher ?? this.#spawn();
    return hasher.running.size < this.#limit ? hasher : null;
  }

  #spawn(): Hasher {
    const nice = this.#options.nice;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      UV_THREADPOOL_SIZE: String(this.#options.threads),
    };
    for (const name of NOT_PASSED_ON) delete env[name];
    const child = fork(fileURLToPath(this.#options.processUrl ?? PROCESS), [String(nice)], {
      env,
      // None of the server's flags (its heap sizes, a profiler); a small heap: it runs next to
      // no JavaScript.
      execArgv: ['--max-semi-space-size=1', '--max-old-space-size=32'],
      serialization: 'json',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    if (nice !== null && child.pid !== undefined) {
      try {
        setPriority(child.pid, nice);
      } catch {
        // Not allowed here: the process lowers itself once started.
      }
    }
    const hasher: Hasher = { child, running: new Map(), idle: null, priority: null };
    this.#hasher = hasher;
    child.on('message', (reply: HashReply) => this.#onReply(hasher, reply));
    const died = (err: Error): void => {
      if (this.#hasher !== hasher) return;
      this.#hasher = null;
      if (hasher.idle) clearTimeout(hasher.idle);
      const failed = new VoicegateError('UNAVAILABLE', 'the code check failed', { cause: err });
      for (const job of hasher.running.values()) job.reject(failed);
      hasher.running.clear();
      this.#next();
    };
    child.on('error', died);
    child.on('exit', (code, signal) =>
      died(new Error(`the code-hashing process exited (${signal ?? `code ${code}`})`)),
    );
    return hasher;
  }

  #onReply(hasher: Hasher, reply: HashReply): void {
    if (reply.op === 'ready') {
      hasher.priority = { pid: reply.pid, nice: reply.nice };
      if (this.#options.nice !== null && reply.nice === null)
        this.#limit = Math.max(1, this.#options.fallbackThreads);
      return;
    }
    const job = hasher.running.get(reply.id);
    if (!job) return;
    hasher.running.delete(reply.id);
    if (reply.op === 'key') job.resolve(Buffer.from(reply.key, 'base64'));
    else job.reject(new VoicegateError('INVALID_INPUT', reply.message));
    if (hasher.running.size === 0) this.#release(hasher);
    this.#next();
  }

  #run(hasher: Hasher, job: Job): void {
    if (hasher.idle) clearTimeout(hasher.idle);
    hasher.idle = null;
    const id = this.#nextId++;
    hasher.running.set(id, job);
    hasher.child.ref();
    hasher.child.channel?.ref();
    const { code, salt, N, r, p, keyLength } = job.input;
    hasher.child.send({
      id,
      code,
      salt: salt.toString('base64'),
      N,
      r,
      p,
      keyLength,
    } satisfies HashJob);
  }

  /** An idle process holds nothing open: the server may exit, and it ends after idleMs. */
  #release(hasher: Hasher): void {
    hasher.child.unref();
    hasher.child.channel?.unref();
    hasher.idle = setTimeout(() => {
      if (hasher.running.size > 0 || this.#hasher !== hasher) return;
      this.#hasher = null;
      void stop(hasher.child);
    }, this.#options.idleMs);
    hasher.idle.unref();
  }

  #next(): void {
    while (this.#waiting.length > 0) {
      const hasher = this.#freeHasher();
      if (!hasher) return;
      this.#run(hasher, this.#waiting.shift()!);
    }
  }
}

/**
 * Ends a hashing process: its channel closed, it exits (code-hash-process.js); killed if not.
 * The server waits for the exit (an idle process is unref'd: a server shutting down would
 * otherwise end its event loop with the wait unsettled).
 */
function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.ref();
    child.once('exit', () => resolve());
    if (child.connected) child.disconnect();
    const kill = setTimeout(() => child.kill('SIGKILL'), 2000);
    kill.unref();
    child.once('exit', () => clearTimeout(kill));
  });
}
