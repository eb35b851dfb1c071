/**
 * The IMAP benchmark's figures (what imap.ts measures and imap-report.ts prints) and the small
 * helpers both the tables and the notes use.
 */
import type { ScryptCost } from '../../server/domain/code-hash.ts';
import { mean, percentile, type BenchOptions, type machine } from './bench-kit.ts';
import type { Installed } from './imap-dovecot.ts';
import type { SessionsResult, Step } from './imap-load-worker.ts';
import type { Memory, ThreadCpu } from './imap-proc.ts';
import type { LoopReading } from './loop-probe.ts';

/** A Node server's event-loop blocks and collections during a run (loop-probe.ts). */
export type LoopWindow = Pick<LoopReading, 'blocks' | 'gc'>;

interface HashPair {
  scrypt: ScryptCost;
  scryptMs: number;
  rounds: number;
  verifyMs: number;
}

export interface Hashes {
  sessions: HashPair;
  idle: HashPair;
}

export interface SessionRun extends Omit<SessionsResult, 'cpuMs'> {
  generatorCpuMs: number;
  serverCpuMs: number;
  /** The whole machine's busy CPU meanwhile: the rest is other work running on it. */
  machineBusyMs: number;
  /** A Node server's CPU by thread role. */
  threadCpuMs?: ThreadCpu;
  /** Dovecot's auth processes' CPU. */
  authCpuMs?: number;
  /** Voicegate's event loop meanwhile. */
  loop?: LoopWindow;
}

export interface IdleRound {
  startedAt: number;
  committedAt: number;
  fromCommitMs: number[];
  fromStartMs: number[];
  missing: number;
  lost: number;
  serverCpuMs: number;
}

export interface IdleRun {
  open: number;
  /** Sessions are spread over this many mailboxes, round robin. */
  mailboxes: number;
  seconds: number;
  failed: number;
  firstError?: string;
  stoppedBy: string;
  baseline: Memory;
  idle: Memory;
  rounds: IdleRound[];
}

export type Servers<T> = { voicegate: T; dovecot: T };

export interface Results {
  at: string;
  machine: ReturnType<typeof machine>;
  dovecot: Installed & { problems: string[] };
  hashes: Hashes;
  bounds: BenchOptions & { clients: number; idleTarget: number; idleBatch: number };
  messageBytes: number;
  voicegateAfterSessions: Memory;
  /** Extra node flags the Voicegate server ran with (IMAP_BENCH_NODE_ARGS), if any. */
  voicegateNodeArgs: string[];
  /** The allocator Voicegate ran on (bench-kit.ts, serverAllocator). */
  voicegateAllocator?: string;
  wavBytes: number;
  messagesPerMailbox: number;
  exportedBytes: number;
  inotify: string[];
  sessions: Servers<SessionRun>;
  idle: Servers<IdleRun>;
}

export const TARGET_P99_RATIO = 1.5;
/** The CPU shares are of both cores of the machine. */
export const CORES = 2;
export const TARGET_IDLE_SESSIONS = 10_000;
export const TARGET_IDLE_MIB = 200;
export const TARGET_EXISTS_P99_MS = 100;

export const STEP_NAMES: Record<Step | 'session', string> = {
  connect: 'connect + greeting',
  login: 'LOGIN',
  select: 'SELECT INBOX',
  fetchMeta: 'FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)',
  fetchBody: 'FETCH 1 BODY[]',
  logout: 'LOGOUT',
  session: 'whole session',
};

export function stats(values: number[]): {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
} {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    max: values.length ? Math.max(...values) : NaN,
    mean: mean(values),
  };
}

export function rate(r: SessionRun) {
  const share = (ms: number): number => ms / (r.seconds * 1000 * CORES);
  return {
    perSecond: r.sessions / r.seconds,
    mbPerSecond: r.bytes / 1e6 / r.seconds,
    serverCpuPerSession: r.serverCpuMs / r.sessions,
    generatorCpuPerSession: r.generatorCpuMs / r.sessions,
    serverShare: share(r.serverCpuMs),
    generatorShare: share(r.generatorCpuMs),
    othersShare: share(Math.max(0, r.machineBusyMs - r.serverCpuMs - r.generatorCpuMs)),
  };
}

export function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

export function pooled(run: IdleRun, key: 'fromCommitMs' | 'fromStartMs'): number[] {
  return run.rounds.flatMap((r) => r[key]);
}
