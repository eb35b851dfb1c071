/**
 * Loaded into a server under measurement with `--import`: keeps, from its start, every block of
 * its event loop of BLOCK_MS or more (when it began, in ms since the epoch, how long, and how
 * much CPU the main thread used meanwhile: a block with little CPU is the thread not being
 * scheduled, or waiting in a system call, rather than work) and every garbage collection (when,
 * how long it held the thread, its kind). On SIGUSR2 it writes them as JSON to the file named by
 * VOICEGATE_LOOP_PROBE, with the main thread's CPU and the event loop's busy time so far.
 *
 * A timer every TICK_MS notes how late it fires: lateness is a block of the loop (a task, a
 * collection, or the thread waiting for a core), found to within a tick.
 */
import { writeFileSync } from 'node:fs';
import {
  constants,
  performance,
  PerformanceObserver,
  type PerformanceEntry,
} from 'node:perf_hooks';

const out = process.env.VOICEGATE_LOOP_PROBE;
const TICK_MS = 5;
const BLOCK_MS = 10;

export interface LoopBlock {
  /** ms since the epoch: the tick before the block. */
  at: number;
  /** How late the next tick fired. */
  ms: number;
  /** The main thread's CPU from the tick before to the late one. */
  cpuMs: number;
}

export interface LoopReading {
  written: number;
  blocks: LoopBlock[];
  gc: { at: number; ms: number; kind: string }[];
  /** The main thread's CPU (user + system) since it started. */
  mainCpuMs: number;
  elu: { active: number; idle: number };
}

const KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};

const cpuMs = (): number => {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
};

if (out) {
  const reading: LoopReading = {
    written: 0,
    blocks: [],
    gc: [],
    mainCpuMs: 0,
    elu: { active: 0, idle: 0 },
  };
  const epoch = (t: number): number => performance.timeOrigin + t;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const detail = (e as PerformanceEntry & { detail?: { kind?: number } | null }).detail;
      const kind = detail?.kind ?? 0;
      reading.gc.push({
        at: epoch(e.startTime),
        ms: e.duration,
        kind: KINDS[kind] ?? String(kind),
      });
    }
  }).observe({ entryTypes: ['gc'] });
  let last = performance.now();
  let lastCpu = cpuMs();
  setInterval(() => {
    const t = performance.now();
    const cpu = cpuMs();
    const late = t - last - TICK_MS;
    if (late >= BLOCK_MS) reading.blocks.push({ at: epoch(last), ms: late, cpuMs: cpu - lastCpu });
    last = t;
    lastCpu = cpu;
  }, TICK_MS).unref();
  process.on('SIGUSR2', () => {
    reading.elu = performance.eventLoopUtilization();
    reading.mainCpuMs = cpuMs();
    reading.written = Date.now();
    writeFileSync(out, JSON.stringify(reading));
  });
}
