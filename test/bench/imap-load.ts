/**
 * The benchmark's handle on the load generator (imap-load-worker.ts): spawns it as a process of
 * its own and sends it requests over IPC, one at a time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type {
  CollectResult,
  OpenRequest,
  OpenResult,
  SessionsRequest,
  SessionsResult,
} from './imap-load-worker.ts';

const WORKER = fileURLToPath(new URL('./imap-load-worker.ts', import.meta.url));

type Reply = { id: number; result?: unknown; error?: string };

export class LoadGenerator {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  #nextId = 1;
  #exited: Error | undefined;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (msg: Reply) => {
      const w = this.#waiting.get(msg.id);
      this.#waiting.delete(msg.id);
      if (msg.error) w?.reject(new Error(`load generator: ${msg.error}`));
      else w?.resolve(msg.result);
    });
    child.on('exit', (code, signal) => {
      this.#exited = new Error(`load generator exited (${signal ?? code})`);
      for (const w of this.#waiting.values()) w.reject(this.#exited);
      this.#waiting.clear();
    });
  }

  static async start(): Promise<LoadGenerator> {
    const child = spawn(process.execPath, [WORKER], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const gen = new LoadGenerator(child);
    await new Promise<void>((resolve, reject) => {
      gen.#waiting.set(0, { resolve: () => resolve(), reject });
    });
    return gen;
  }

  get pid(): number {
    return this.#child.pid!;
  }

  #request<T>(req: object): Promise<T> {
    if (this.#exited) return Promise.reject(this.#exited);
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#child.send({ id, req });
    });
  }

  sessions(req: Omit<SessionsRequest, 'type'>): Promise<SessionsResult> {
    return this.#request({ type: 'sessions', ...req });
  }

  openIdle(req: Omit<OpenRequest, 'type'>): Promise<OpenResult> {
    return this.#request({ type: 'open', ...req });
  }

  /** From now on, each IDLE session of `user` notes when it sees its next EXISTS. */
  arm(user: string): Promise<void> {
    return this.#request({ type: 'arm', user });
  }

  /** Waits until every armed session of `user` has seen EXISTS, or the timeout. */
  collect(user: string, timeoutMs: number): Promise<CollectResult> {
    return this.#request({ type: 'collect', user, timeoutMs });
  }

  closeAll(): Promise<void> {
    return this.#request({ type: 'closeAll' });
  }

  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#request({ type: 'exit' }).catch(() => {});
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
