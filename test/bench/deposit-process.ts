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
import type { StatementSync } from 'node:sqlite';
import type { Rate } from './bench-kit.ts';

export interface DepositJob {
  dir: string;
  depositors: number;
  seconds: number;
  maxOps: number;
  /** Also time the main thread's CPU in each SQLite statement, and in audio puts alone. */
  breakdown?: boolean;
}

/** Main-thread CPU of one step of a deposit, per deposit. */
export interface DepositStep {
  step: string;
  callsPerDeposit: number;
  cpuUsPerDeposit: number;
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
  /** With `breakdown`: the main thread's CPU per deposit in each SQLite statement. */
  steps?: DepositStep[];
  /** With `breakdown`: the main thread's CPU per audio put, puts alone at the same concurrency. */
  putMainCpuUs?: number;
  /** With `breakdown`: the group COMMITs' wall time on the main thread. */
  commits?: CommitTimes;
  /** With `breakdown`: calls handed to libuv's thread pool per deposit (fs requests), by kind. */
  poolCalls?: Record<string, number>;
}

/** How long the COMMITs held the main thread (wall time, ms). */
export interface CommitTimes {
  count: number;
  p50: number;
  p99: number;
  max: number;
  /** COMMITs over 5 ms, and the time spent in them. */
  over5ms: number;
  over5msTotal: number;
  total: number;
}

export const WARM_UP_DEPOSITS = 4;
/** Rounds of concurrent deposits whose thread-pool calls are counted (countPoolCalls). */
const POOL_CALL_ROUNDS = 10;

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

/** A statement's or command's name in the breakdown: its first words, its table. */
function stepName(sql: string): string {
  const words = sql.trim().replace(/\s+/g, ' ').split(' ');
  if (/^(INSERT|DELETE)$/i.test(words[0]!)) return words.slice(0, 3).join(' ');
  if (/^UPDATE$/i.test(words[0]!)) return words.slice(0, 4).join(' ');
  if (/^SELECT$/i.test(words[0]!)) return sql.replace(/\s+/g, ' ').slice(0, 40);
  return words.slice(0, 2).join(' ');
}

/**
 * Counts the main thread's CPU in each SQLite statement run through the store's `sql()` and
 * each command run by `exec` (BEGIN, SAVEPOINT, COMMIT...): synchronous calls, so the thread's
 * CPU around each is its own. Returns the totals by step.
 */
function timeStatements(
  store: {
    sql(text: string): StatementSync;
    db: { exec(sql: string): void };
  },
  commitWallMs: number[],
): Map<string, { calls: number; us: number }> {
  const steps = new Map<string, { calls: number; us: number }>();
  const timed = <T>(step: string, fn: () => T): T => {
    const t0 = process.threadCpuUsage();
    const wall0 = performance.now();
    try {
      return fn();
    } finally {
      const d = process.threadCpuUsage(t0);
      if (step === 'COMMIT') commitWallMs.push(performance.now() - wall0);
      const total = steps.get(step) ?? { calls: 0, us: 0 };
      total.calls++;
      total.us += d.user + d.system;
      steps.set(step, total);
    }
  };
  const sql = store.sql.bind(store);
  const wrapped = new Map<string, StatementSync>();
  store.sql = (text) => {
    let statement = wrapped.get(text);
    if (!statement) {
      const real = sql(text);
      const step = stepName(text);
      statement = {
        get: (...args: never[]) => timed(step, () => real.get(...args)),
        run: (...args: never[]) => timed(step, () => real.run(...args)),
        all: (...args: never[]) => timed(step, () => real.all(...args)),
      } as unknown as StatementSync;
      wrapped.set(text, statement);
    }
    return statement;
  };
  const exec = store.db.exec.bind(store.db);
  store.db.exec = (text) => timed(stepName(text), () => exec(text));
  return steps;
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

    const commitWallMs: number[] = [];
    const steps = job.breakdown ? timeStatements(embedded(ctx).store, commitWallMs) : null;
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
    // The timed part's own: the puts alone and the counted rounds below add statements.
    const timedSteps = steps && [...steps].map(([step, t]) => ({ step, ...t }));
    const timedCommits = [...commitWallMs];

    const putMainCpuUs = job.breakdown ? await putsAlone(ctx.audio, audio, depositors) : undefined;
    const poolCalls = job.breakdown ? await countPoolCalls(deposit, depositors) : undefined;
    let stored = 0;
    for (const box of await ctx.store.listMailboxes())
      stored += (await ctx.store.listMessages(box.id)).length;
    const expected =
      latencies.length + WARM_UP_DEPOSITS + (poolCalls ? POOL_CALL_ROUNDS * depositors : 0);
    if (stored !== expected) {
      throw new Error(`expected ${expected} messages in the store, found ${stored}`);
    }
    return {
      ...summarize([{ ops: latencies.length, seconds, latenciesMs: latencies }], audio.byteLength),
      audioPutMs: mean(putMs),
      commitMs: mean(commitMs),
      eventLoopUtilization: elu.utilization,
      cpuMsPerDeposit: (cpu.user + cpu.system) / 1000 / latencies.length,
      mainThreadCpuMsPerDeposit: (main.user + main.system) / 1000 / latencies.length,
      threadPool: process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
      steps: timedSteps
        ? timedSteps
            .map((t) => ({
              step: t.step,
              callsPerDeposit: t.calls / latencies.length,
              cpuUsPerDeposit: t.us / latencies.length,
            }))
            .sort((a, b) => b.cpuUsPerDeposit - a.cpuUsPerDeposit)
        : undefined,
      putMainCpuUs,
      commits: job.breakdown ? commitTimes(timedCommits) : undefined,
      poolCalls,
    };
  } finally {
    await ctx.close();
  }
}

/**
 * Each call handed to libuv's thread pool is a hop of the event loop (a request queued, a
 * thread woken, its completion run on the main thread): counted per deposit, by the kind of
 * request, over 10 rounds of `depositors` concurrent deposits (an async hook, on only here:
 * it slows promises). Load does not change these counts, so they compare across runs.
 */
async function countPoolCalls(
  deposit: (i: number) => Promise<unknown>,
  depositors: number,
): Promise<Record<string, number>> {
  const { createHook } = await import('node:async_hooks');
  const counts: Record<string, number> = {};
  const hook = createHook({
    init(_id, type) {
      if (type.startsWith('FSREQ') || type === 'STATWATCHER')
        counts[type] = (counts[type] ?? 0) + 1;
    },
  });
  const rounds = POOL_CALL_ROUNDS;
  hook.enable();
  try {
    for (let r = 0; r < rounds; r++)
      await Promise.all(Array.from({ length: depositors }, (_, i) => deposit(i)));
  } finally {
    hook.disable();
  }
  const perDeposit: Record<string, number> = {};
  for (const [type, n] of Object.entries(counts)) perDeposit[type] = n / (rounds * depositors);
  return perDeposit;
}

function commitTimes(ms: number[]): CommitTimes {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const slow = sorted.filter((t) => t > 5);
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    p50: at(0.5),
    p99: at(0.99),
    max: sorted.at(-1) ?? 0,
    over5ms: slow.length,
    over5msTotal: sum(slow),
    total: sum(sorted),
  };
}

/** The main thread's CPU per audio put, `concurrency` puts at a time, nothing else running. */
async function putsAlone(
  audio: { put(bytes: Uint8Array): Promise<string>; remove(keys: string[]): Promise<void> },
  bytes: Uint8Array,
  concurrency: number,
): Promise<number> {
  const count = 200;
  let left = count;
  const keys: string[] = [];
  const t0 = process.threadCpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) keys.push(await audio.put(bytes));
    }),
  );
  const d = process.threadCpuUsage(t0);
  await audio.remove(keys);
  return (d.user + d.system) / count;
}

// Forked by startDepositProcess: one job from argv, the answer over IPC.
if (import.meta.main) {
  const run = await measureDeposits(JSON.parse(process.argv[2]!) as DepositJob);
  process.send!(run, () => process.disconnect());
}
