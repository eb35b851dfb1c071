/**
 * What every benchmark shares: the module interface the runner calls, bounds, percentiles,
 * tables (plain text for the terminal, Markdown for the README), where results are written, and
 * which filesystem a folder is on.
 */
import { mkdirSync, readFileSync, realpathSync, statfsSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverEnv } from '../../bin/server-flags.js';

export interface BenchOptions {
  /** Each measured step stops after this many seconds ... */
  seconds: number;
  /** ... or after this many operations, whichever comes first. */
  maxOps: number;
}

/** A benchmark module: run.ts imports it and calls `run` once; nothing runs on import. */
export interface Benchmark {
  name: string;
  title: string;
  run(opts: BenchOptions): Promise<void>;
}

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');
export const PROJECT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Nearest-rank percentile of an unsorted list; NaN when empty. */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Timed operations of one kind, possibly from several steps or threads. */
export interface Sample {
  ops: number;
  seconds: number;
  latenciesMs: number[];
}

export interface Rate {
  ops: number;
  seconds: number;
  opsPerSecond: number;
  mbPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** One rate from several samples: operations and seconds add up, latencies pool. */
export function summarize(samples: Sample[], bytesPerOp: number): Rate {
  const ops = samples.reduce((sum, s) => sum + s.ops, 0);
  const seconds = samples.reduce((sum, s) => sum + s.seconds, 0);
  const latencies = samples.flatMap((s) => s.latenciesMs);
  return {
    ops,
    seconds,
    opsPerSecond: ops / seconds,
    mbPerSecond: (ops * bytesPerOp) / 1e6 / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return values.length ? sum / values.length : NaN;
}

export function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

export interface Table {
  head: string[];
  rows: string[][];
}

/** Right-aligned columns (numbers), except the first. */
export function textTable({ head, rows }: Table): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function markdownTable({ head, rows }: Table): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [
    line(head),
    `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

/** Writes `results/<name>.md`: the Markdown for the README, then the raw figures as JSON. */
export function writeResult(name: string, markdown: string, json: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.md`);
  const body = `${markdown.trimEnd()}\n\n## Raw figures\n\n\`\`\`json\n${JSON.stringify(json, null, 2)}\n\`\`\`\n`;
  writeFileSync(file, body);
  return file;
}

export interface Filesystem {
  type: string;
  source: string;
  mountPoint: string;
  options: string;
}

/** The statfs magic numbers most likely to show up, for systems without /proc/self/mountinfo. */
const FS_MAGIC: Record<number, string> = {
  0xef53: 'ext2/3/4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x01021994: 'tmpfs',
  0x794c7630: 'overlayfs',
  0x2fc12fc1: 'zfs',
};

/** Which filesystem holds `path`: the longest mount point above it in /proc/self/mountinfo. */
export function filesystemOf(path: string): Filesystem {
  const real = realpathSync(path);
  const unescape = (s: string): string =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  let best: Filesystem | undefined;
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const fields = line.split(' ');
      const dash = fields.indexOf('-');
      if (dash < 0) continue;
      const mountPoint = unescape(fields[4]!);
      const under = mountPoint === '/' || real === mountPoint || real.startsWith(`${mountPoint}/`);
      if (!under || (best && best.mountPoint.length > mountPoint.length)) continue;
      // Per-mount options, then the filesystem's own (where ext4 keeps e.g. `discard`).
      const options = `${fields[5]!}; ${fields[dash + 3] ?? ''}`;
      best = { type: fields[dash + 1]!, source: fields[dash + 2]!, mountPoint, options };
    }
  } catch {
    // Not Linux: fall back to the statfs magic number below.
  }
  if (best) return best;
  const magic = Number(statfsSync(path).type);
  return {
    type: FS_MAGIC[magic] ?? `0x${magic.toString(16)}`,
    source: '?',
    mountPoint: '?',
    options: '',
  };
}

export function describeFilesystem(fs: Filesystem): string {
  return `${fs.type} on ${fs.source}, mounted at ${fs.mountPoint} (${fs.options})`;
}

export function machine(): { node: string; kernel: string; cpus: string; memoryGiB: number } {
  const cpu = cpus();
  return {
    node: process.version,
    kernel: release(),
    cpus: `${cpu.length} x ${cpu[0]?.model.trim() ?? '?'}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `--set`s that lift the connection limits: a benchmark's clients all come from 127.0.0.1. */
export const BENCH_LIMITS = ['limits.perAddress=100000', 'limits.total=1000000'];

/** The allocator `voicegate serve` runs on from this environment (bin/server-flags.js). */
export function serverAllocator(): string {
  const env = serverEnv(process.env);
  return env.LD_PRELOAD?.includes('jemalloc')
    ? `jemalloc (${env.LD_PRELOAD}, MALLOC_CONF=${env.MALLOC_CONF ?? ''})`
    : `glibc's malloc (MALLOC_ARENA_MAX=${env.MALLOC_ARENA_MAX}, MALLOC_MMAP_THRESHOLD_=${env.MALLOC_MMAP_THRESHOLD_}${env.LD_PRELOAD ? `, LD_PRELOAD=${env.LD_PRELOAD}` : ''})`;
}
