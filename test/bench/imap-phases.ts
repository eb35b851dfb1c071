/**
 * The two measured phases of the IMAP benchmark, for one server at a time: full sessions from
 * 50 clients, and IDLE sessions (memory with all of them idle, deposit-to-EXISTS times).
 */
import { performance } from 'node:perf_hooks';
import { percentile, sleep, type BenchOptions } from './bench-kit.ts';
import type { LoadGenerator } from './imap-load.ts';
import type { SessionsResult, Target } from './imap-load-worker.ts';
import { machineBusyMs, type Memory, type ThreadCpu } from './imap-proc.ts';
import type { IdleRun, LoopWindow, SessionRun } from './imap-results.ts';
import type { LoopReading } from './loop-probe.ts';

export interface Server {
  name: 'voicegate' | 'dovecot';
  target: Target;
  cpuMs(): number;
  memory(): Memory;
  /** For a Node server: its CPU by thread role. */
  threadCpuMs?(): ThreadCpu;
  /** For Dovecot: its auth processes' CPU (password verification). */
  authCpuMs?(): number;
  /** For Voicegate: its event loop's blocks and collections so far (loop-probe.ts). */
  loop?(): Promise<LoopReading>;
}

export interface PhaseSettings {
  users: string[];
  password: string;
  clients: number;
}

export type Half = SessionsResult & {
  serverCpuMs: number;
  machineBusyMs: number;
  threadCpuMs?: ThreadCpu;
  authCpuMs?: number;
  loop?: LoopWindow;
};

const epochNow = (): number => performance.timeOrigin + performance.now();

/** One untimed session per mailbox: indexes and renditions built, \Seen set, caches warm. */
export async function warmUp(gen: LoadGenerator, server: Server, p: PhaseSettings): Promise<void> {
  const warm = await gen.sessions({
    target: server.target,
    users: p.users,
    password: p.password,
    concurrency: p.clients,
    seconds: 120,
    maxSessions: p.users.length,
  });
  if (warm.failed > 0) throw new Error(`${server.name} warm-up failed: ${warm.firstError}`);
}

/** Half of one server's measured sessions: the servers alternate, against drift. */
export async function measureHalf(
  gen: LoadGenerator,
  server: Server,
  p: PhaseSettings,
  opts: BenchOptions,
): Promise<Half> {
  const cpu0 = server.cpuMs();
  const busy0 = machineBusyMs();
  const threads0 = server.threadCpuMs?.();
  const auth0 = server.authCpuMs?.();
  const from = epochNow();
  const result = await gen.sessions({
    target: server.target,
    users: p.users,
    password: p.password,
    concurrency: p.clients,
    seconds: opts.seconds,
    maxSessions: Math.ceil(opts.maxOps / 2),
  });
  const threads1 = server.threadCpuMs?.();
  const to = epochNow();
  const reading = await server.loop?.();
  const within = (e: { at: number }): boolean => e.at >= from && e.at < to;
  return {
    ...result,
    ...(reading
      ? { loop: { blocks: reading.blocks.filter(within), gc: reading.gc.filter(within) } }
      : {}),
    serverCpuMs: server.cpuMs() - cpu0,
    machineBusyMs: machineBusyMs() - busy0,
    ...(auth0 !== undefined ? { authCpuMs: server.authCpuMs!() - auth0 } : {}),
    ...(threads0 && threads1
      ? {
          threadCpuMs: {
            main: threads1.main - threads0.main,
            pool: threads1.pool - threads0.pool,
            hashing: threads1.hashing - threads0.hashing,
            other: threads1.other - threads0.other,
          },
        }
      : {}),
  };
}

export function mergeHalves(halves: Half[]): SessionRun {
  const sum = (f: (h: Half) => number): number => halves.reduce((s, h) => s + f(h), 0);
  const keys = Object.keys(halves[0]!.latenciesMs) as (keyof SessionsResult['latenciesMs'])[];
  return {
    sessions: sum((h) => h.sessions),
    failed: sum((h) => h.failed),
    firstError: halves.find((h) => h.firstError)?.firstError,
    seconds: sum((h) => h.seconds),
    bytes: sum((h) => h.bytes),
    bodyBytes: sum((h) => h.bodyBytes),
    latenciesMs: Object.fromEntries(
      keys.map((k) => [k, halves.flatMap((h) => h.latenciesMs[k])]),
    ) as SessionsResult['latenciesMs'],
    slowConnects: halves.flatMap((h) => h.slowConnects),
    openingConnectMs: halves.flatMap((h) => h.openingConnectMs),
    ownBlocks: halves.flatMap((h) => h.ownBlocks),
    ...(halves.every((h) => h.loop)
      ? {
          loop: {
            blocks: halves.flatMap((h) => h.loop!.blocks),
            gc: halves.flatMap((h) => h.loop!.gc),
          },
        }
      : {}),
    generatorCpuMs: sum((h) => h.cpuMs),
    serverCpuMs: sum((h) => h.serverCpuMs),
    machineBusyMs: sum((h) => h.machineBusyMs),
    ...(halves.every((h) => h.authCpuMs !== undefined)
      ? { authCpuMs: sum((h) => h.authCpuMs!) }
      : {}),
    ...(halves.every((h) => h.threadCpuMs)
      ? {
          threadCpuMs: {
            main: sum((h) => h.threadCpuMs!.main),
            pool: sum((h) => h.threadCpuMs!.pool),
            hashing: sum((h) => h.threadCpuMs!.hashing),
            other: sum((h) => h.threadCpuMs!.other),
          },
        }
      : {}),
  };
}

export interface IdleSettings {
  /** Session n logs in to mailboxes[n % mailboxes.length]. */
  mailboxes: string[];
  password: string;
  target: number;
  batch: number;
  openBudgetMs: number;
  /** Deposits, one at a time, each into another mailbox spread over the list. */
  deposits: number;
  existsTimeoutMs: number;
}

export interface Deposit {
  /** ms since the epoch, as performance.timeOrigin + performance.now() in any process. */
  startedAt: number;
  committedAt: number;
}

type Opened = Pick<IdleRun, 'open' | 'seconds' | 'failed' | 'firstError' | 'stoppedBy'>;

/** Opens IDLE sessions a batch at a time until the target, a failing batch, or the budget. */
async function openIdle(
  gen: LoadGenerator,
  server: Server,
  s: IdleSettings,
  say: (line: string) => void,
): Promise<Opened> {
  const t0 = performance.now();
  const opened: Opened = { open: 0, seconds: 0, failed: 0, stoppedBy: 'target reached' };
  while (opened.open < s.target) {
    if (performance.now() - t0 > s.openBudgetMs) {
      opened.stoppedBy = `time budget (${s.openBudgetMs / 1000} s) spent`;
      break;
    }
    const batch = await gen.openIdle({
      target: server.target,
      users: s.mailboxes,
      password: s.password,
      count: Math.min(s.batch, s.target - opened.open),
    });
    opened.open = batch.total;
    opened.failed += batch.failed;
    opened.firstError ??= batch.firstError;
    if (opened.open % 2000 < s.batch || batch.failed > 0)
      say(
        `    ${server.name}: ${opened.open} IDLE sessions open (batch ${Math.round(batch.ms)} ms)`,
      );
    if (batch.failed > 0) {
      opened.stoppedBy = `${batch.failed} sessions of a batch failed: ${batch.firstError}`;
      break;
    }
  }
  opened.seconds = (performance.now() - t0) / 1000;
  return opened;
}

/**
 * Opens the IDLE sessions, reads the server's memory once all are idle (`settle` waits for
 * that), then makes deposits one at a time into mailboxes spread over the list and times when
 * each of that mailbox's sessions sees EXISTS.
 */
export async function measureIdle(
  gen: LoadGenerator,
  server: Server,
  s: IdleSettings,
  hooks: { deliver(mailbox: string): Promise<Deposit>; settle(): Promise<void> },
  say: (line: string) => void,
): Promise<IdleRun> {
  const baseline = server.memory();
  const opened = await openIdle(gen, server, s, say);
  await hooks.settle();
  const idle = server.memory();
  say(`    ${server.name}: ${opened.open} idle, RSS ${idle.rssMiB.toFixed(0)} MiB`);
  const rounds: IdleRun['rounds'] = [];
  for (let k = 0; k < s.deposits && opened.open > 0; k++) {
    const mailbox = s.mailboxes[Math.floor((k * s.mailboxes.length) / s.deposits)]!;
    await gen.arm(mailbox);
    const cpu0 = server.cpuMs();
    const deposit = await hooks.deliver(mailbox);
    const seen = await gen.collect(mailbox, s.existsTimeoutMs);
    rounds.push({
      ...deposit,
      fromCommitMs: seen.seenAt.map((t) => t - deposit.committedAt),
      fromStartMs: seen.seenAt.map((t) => t - deposit.startedAt),
      missing: seen.missing,
      lost: seen.lost,
      serverCpuMs: server.cpuMs() - cpu0,
    });
    // A random gap, so deposits land at random points of any polling interval on the way
    // (Voicegate's change feed polls every 100 ms for other processes' commits).
    await sleep(100 + Math.random() * 150);
  }
  const all = rounds.flatMap((r) => r.fromCommitMs);
  say(
    `    ${server.name}: ${rounds.length} deposits, ${all.length} EXISTS seen, p50/p99 ` +
      `${percentile(all, 50).toFixed(0)}/${percentile(all, 99).toFixed(0)} ms after the commit`,
  );
  await gen.closeAll();
  return { ...opened, mailboxes: s.mailboxes.length, baseline, idle, rounds };
}
