/**
 * Deposits measured in a process of their own, started as `voicegate serve` starts: with the
 * server's node flags and environment (bin/server-flags.js: 2 MiB semi-spaces,
 * --optimize-for-size, MALLOC_ARENA_MAX=2, UV_THREADPOOL_SIZE=16), so the thread pool that
 * writes the audio and the V8 settings are the product's. deposit.ts forks this file with
 * `startDepositProcess`; it answers one `DepositRun` over IPC and exits.
 */
import { fork } from 'node:child_process';
import { closeSync, fsyncSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { missingServerFlags, serverEnv } from '../../bin/server-flags.js';
import type { Rate } from './bench-kit.ts';

export interface DepositJob {
  dir: string;
  depositors: number;
  seconds: number;
  maxOps: number;
}

export interface DepositRun extends Rate {
  /** Mean time in AudioFiles.put (temp file, fsync, rename, folder fsync). */
  audioPutMs: number;
  /** Mean time in SqliteStore.addMessages (one transaction, committed with synchronous=FULL). */
  commitMs: number;
  /** Share of wall time the main thread was busy (sync fsyncs and SQLite block it). */
  eventLoopUtilization: number;
  /** Process CPU (user + system, all threads) per deposit. */
  cpuMsPerDeposit: number;
  /** The main thread's share of it (JavaScript, SQLite, the kernel's work for its syscalls). */
  mainThreadCpuMsPerDeposit: number;
  /** The deposit process's node flags and the environment it adds. */
  flags: string[];
  threadPool: string;
}

export const WARM_UP_DEPOSITS = 4;

/**
 * Runs one job in a fresh process with the server's flags and environment.
 * DEPOSIT_BENCH_NODE_ARGS adds node flags (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
export function startDepositProcess(job: DepositJob): Promise<DepositRun> {
  const extra = (process.env.DEPOSIT_BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const flags = [...missingServerFlags(extra, undefined), ...extra];
  const child = fork(new URL(import.meta.url), [JSON.stringify(job)], {
    execArgv: flags,
    env: serverEnv(process.env),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let answer: DepositRun | undefined;
    child.once('message', (msg) => (answer = { ...(msg as DepositRun), flags }));
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      answer ? resolve(answer) : reject(new Error(`deposit process ended: ${code ?? signal}`)),
    );
  });
}

/** fsync of a file or folder by its path (synchronous: the bench's set-up). */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Times each call of `obj[method]` into `into`; the object keeps working as before. */
function timeMethod<T extends object, K extends keyof T>(obj: T, method: K, into: number[]): void {
  const original = obj[method] as (...args: unknown[]) => Promise<unknown>;
  const timed = async (...args: unknown[]): Promise<unknown> => {
    const t0 = performance.now();
    try {
      return await original.apply(obj, args);
    } finally {
      into.push(performance.now() - t0);
    }
  };
  obj[method] = timed as T[K];
}

async function measureDeposits(job: DepositJob): Promise<Omit<DepositRun, 'flags'>> {
  // Loaded here, not on import: the parent only forks.
  const { loadConfig } = await import('../../server/config/load.ts');
  const { createContext } = await import('../../server/context.ts');
  const { createLogger } = await import('../../server/log.ts');
  const { toneWav } = await import('../../server/media/tone.ts');
  const { embedded } = await import('../store/embedded.ts');
  const { prepareFanOut } = await import('./fsync-yardstick.ts');
  const { mean, summarize } = await import('./bench-kit.ts');

  const { dir, depositors } = job;
  const audio = toneWav({ seconds: 30 });
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'voicegate.yaml');
  writeFileSync(configFile, 'server:\n  dataDir: data\nlog:\n  level: silent\n');
  const ctx = await createContext(loadConfig(configFile), createLogger('silent'));
  try {
    // A store in use already has its 256 fan-out folders; a brand-new one also fsyncs the audio
    // root the first time it makes each, which would count against the first few hundred deposits.
    prepareFanOut(embedded(ctx).audio.root);
    fsyncPath(embedded(ctx).audio.root);
    await Promise.all(
      Array.from({ length: depositors }, (_, i) =>
        ctx.mailboxes.add({ name: `bench${i}`, extension: String(200 + i) }, '13572468'),
      ),
    );
    const deposit = (i: number): Promise<unknown> =>
      ctx.messages.deposit({
        mailbox: `bench${i}`,
        audio,
        callerNumber: '+15550100',
        callerName: 'Bench',
      });
    for (let i = 0; i < WARM_UP_DEPOSITS; i++) await deposit(i % depositors);

    const putMs: number[] = [];
    const commitMs: number[] = [];
    timeMethod(ctx.audio, 'put', putMs);
    timeMethod(ctx.store, 'addMessages', commitMs);
    const latencies: number[] = [];
    let claimed = 0;
    const elu0 = performance.eventLoopUtilization();
    const cpu0 = process.cpuUsage();
    const main0 = process.threadCpuUsage();
    const start = performance.now();
    const deadline = start + job.seconds * 1000;
    await Promise.all(
      Array.from({ length: depositors }, async (_, i) => {
        while (performance.now() < deadline && claimed++ < job.maxOps) {
          const t0 = performance.now();
          await deposit(i);
          latencies.push(performance.now() - t0);
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    const elu = performance.eventLoopUtilization(elu0);
    const cpu = process.cpuUsage(cpu0);
    const main = process.threadCpuUsage(main0);

    let stored = 0;
    for (const box of await ctx.store.listMailboxes())
      stored += (await ctx.store.listMessages(box.id)).length;
    if (stored !== latencies.length + WARM_UP_DEPOSITS) {
      throw new Error(
        `expected ${latencies.length + WARM_UP_DEPOSITS} messages in the store, found ${stored}`,
      );
    }
    return {
      ...summarize([{ ops: latencies.length, seconds, latenciesMs: latencies }], audio.byteLength),
      audioPutMs: mean(putMs),
      commitMs: mean(commitMs),
      eventLoopUtilization: elu.utilization,
      cpuMsPerDeposit: (cpu.user + cpu.system) / 1000 / latencies.length,
      mainThreadCpuMsPerDeposit: (main.user + main.system) / 1000 / latencies.length,
      threadPool: process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
    };
  } finally {
    await ctx.close();
  }
}

// Forked by startDepositProcess: one job from argv, the answer over IPC.
if (import.meta.main) {
  const run = await measureDeposits(JSON.parse(process.argv[2]!) as DepositJob);
  process.send!(run, () => process.disconnect());
}
