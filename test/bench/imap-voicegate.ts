/**
 * Voicegate under test: a store prepared through the domain (createContext, as the CLI does)
 * before the server starts, the server run as its own process (`voicegate serve`) so that its
 * CPU and memory are its own, and deposits made by a separate process while it serves, as the
 * CLI's `deposit` would make them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../server/config/load.ts';
import { createContext } from '../../server/context.ts';
import { hashCode, type ScryptCost } from '../../server/domain/code-hash.ts';
import { createLogger } from '../../server/log.ts';
import { BENCH_LIMITS, PROJECT_DIR, sleep } from './bench-kit.ts';
import { RawImap } from './imap-client.ts';
import {
  nodeThreadCpuMs,
  treeCpuMs,
  treeMemory,
  type Memory,
  type ThreadCpu,
} from './imap-proc.ts';
import type { DepositTimes } from './imap-deposit-worker.ts';
import type { LoopReading } from './loop-probe.ts';

const CLI = join(PROJECT_DIR, 'bin', 'voicegate.js');
const DEPOSIT_WORKER = fileURLToPath(new URL('./imap-deposit-worker.ts', import.meta.url));
const LOOP_PROBE = fileURLToPath(new URL('./loop-probe.ts', import.meta.url));

export interface BenchMailbox {
  name: string;
  code: string;
  messages: number;
  /** A cheaper scrypt cost than the default, written over the hash `add` made. */
  cost?: ScryptCost;
}

/** Writes the config file and fills the store: mailboxes, then their voicemails. */
export async function prepareStore(
  dir: string,
  mailboxes: BenchMailbox[],
  audio: Uint8Array,
): Promise<string> {
  const configFile = join(dir, 'voicegate.yaml');
  writeFileSync(configFile, 'server:\n  dataDir: data\nlog:\n  level: warn\n');
  const ctx = await createContext(loadConfig(configFile), createLogger('silent'));
  try {
    // Each add hashes the code at the default cost (scrypt, in the code-hashing process, one
    // at a time per core): 4 under way keep it busy.
    const queue = [...mailboxes];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let m = queue.shift(); m; m = queue.shift()) {
          const added = await ctx.mailboxes.add({ name: m.name }, m.code);
          if (m.cost) await ctx.store.setCodeHash(added.id, await hashCode(m.code, m.cost));
        }
      }),
    );
    for (const m of mailboxes) {
      for (let i = 0; i < m.messages; i++) {
        await ctx.messages.deposit({
          mailbox: m.name,
          audio,
          callerNumber: `+1555010${i}`,
          callerName: 'Bench Caller',
        });
      }
    }
  } finally {
    await ctx.close();
  }
  return configFile;
}

export class VoicegateServer {
  readonly #child: ChildProcess;
  readonly #logFile: string;
  readonly #loopFile: string | undefined;
  readonly port: number;

  private constructor(child: ChildProcess, port: number, logFile: string, loopFile?: string) {
    this.#child = child;
    this.port = port;
    this.#logFile = logFile;
    this.#loopFile = loopFile;
  }

  /**
   * `voicegate serve` with plaintext IMAP on `port`; resolves once it greets a client. With
   * `loopFile`, loop-probe.ts keeps its event loop's blocks, read by `loop()` through that file.
   */
  static async start(
    configFile: string,
    port: number,
    opts: {
      logFile: string;
      nodeArgs?: string[];
      env?: NodeJS.ProcessEnv;
      sets?: string[];
      loopFile?: string;
    },
  ): Promise<VoicegateServer> {
    const log = openSync(opts.logFile, 'a');
    const args = [
      ...(opts.loopFile ? ['--import', LOOP_PROBE] : []),
      ...(opts.nodeArgs ?? []),
      CLI,
      '--config',
      configFile,
      'serve',
      ...['http.port=0', 'imap.tlsPort=0', 'sip.port=0', 'smtp.port=0'].flatMap((s) => [
        '--set',
        s,
      ]),
      ...['--set', `imap.port=${port}`, '--set', 'imap.allowPlaintextAuth=true'],
      // Thousands of sessions from 127.0.0.1: the connection limits are not what is measured.
      ...BENCH_LIMITS.flatMap((s) => ['--set', s]),
      // The caller's own settings last: they win over the ones above (imap.tlsPort, ...).
      ...(opts.sets ?? []).flatMap((s) => ['--set', s]),
    ];
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', log, log],
      env: {
        ...process.env,
        ...opts.env,
        ...(opts.loopFile ? { VOICEGATE_LOOP_PROBE: opts.loopFile } : {}),
      },
    });
    closeSync(log);
    const server = new VoicegateServer(child, port, opts.logFile, opts.loopFile);
    const t0 = performance.now();
    for (;;) {
      if (child.exitCode !== null) throw new Error(`voicegate serve exited${server.logTail()}`);
      try {
        (await RawImap.open({ host: '127.0.0.1', port, timeoutMs: 2000 })).destroy();
        return server;
      } catch {
        if (performance.now() - t0 > 30_000) {
          await server.stop();
          throw new Error(`voicegate serve did not listen on ${port}${server.logTail()}`);
        }
        await sleep(100);
      }
    }
  }

  get pid(): number {
    return this.#child.pid!;
  }

  cpuMs(): number {
    return treeCpuMs(this.pid);
  }

  memory(): Memory {
    return treeMemory(this.pid);
  }

  /** `precise`: to the nanosecond, for readings of a few ms (imap-proc.ts). */
  threadCpuMs(precise = false): ThreadCpu {
    return nodeThreadCpuMs(this.pid, precise);
  }

  /** The event loop's blocks and collections since the start (needs `loopFile`). */
  async loop(): Promise<LoopReading> {
    if (!this.#loopFile) throw new Error('started without a loop probe');
    const asked = Date.now();
    this.#child.kill('SIGUSR2');
    for (let waited = 0; ; waited += 20) {
      try {
        const reading = JSON.parse(readFileSync(this.#loopFile, 'utf8')) as LoopReading;
        if (reading.written >= asked) return reading;
      } catch {
        // Not written yet, or being written.
      }
      if (waited > 10_000) throw new Error('the loop probe did not answer');
      await sleep(20);
    }
  }

  logTail(lines = 20): string {
    try {
      const text = readFileSync(this.#logFile, 'utf8').trimEnd().split('\n');
      return `\n--- voicegate log (last ${lines} lines)\n${text.slice(-lines).join('\n')}`;
    } catch {
      return '';
    }
  }

  /** SIGTERM (the server closes its listeners and store), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * Deposits by another process while the server runs, as `voicegate deposit` makes them. The
 * process is started and its store opened first; `deposit()` then returns when it started
 * writing and when the deposit had committed (ms since the epoch).
 */
export interface Depositor {
  deposit(mailbox: string): Promise<DepositTimes>;
  stop(): Promise<void>;
}

export async function startDepositor(configFile: string, wavFile: string): Promise<Depositor> {
  const child = spawn(process.execPath, [DEPOSIT_WORKER, configFile, wavFile], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = (): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number | null): void =>
        reject(new Error(`deposit worker exited (${code})`));
      child.once('exit', onExit);
      child.once('message', (msg) => {
        child.off('exit', onExit);
        resolve(msg);
      });
    });
  await next();
  return {
    deposit: async (mailbox) => {
      const times = next() as Promise<DepositTimes>;
      child.send(mailbox);
      return times;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
