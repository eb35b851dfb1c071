/**
 * Deposits of 30-second voicemails made durable per second through the real domain path
 * (MessageService.deposit on a context from createContext), with 1, 4 and 16 concurrent
 * depositors, divided by the machine's own atomic-file-write rate on the same filesystem.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { toneWav } from '../../server/media/tone.ts';
import {
  describeFilesystem,
  filesystemOf,
  fixed,
  machine,
  markdownTable,
  PROJECT_DIR,
  serverAllocator,
  summarize,
  textTable,
  writeResult,
  type BenchOptions,
  type Benchmark,
  type Rate,
  type Table,
} from './bench-kit.ts';
import {
  fsyncPath,
  startDepositProcess,
  WARM_UP_DEPOSITS,
  type DepositRun,
} from './deposit-process.ts';
import { measureFsync } from './fsync-yardstick.ts';
import { openStore } from '../../server/store/open-store.ts';
import { addMailbox, newMessage } from '../store/contract/fixtures.ts';

const LEVELS = [1, 4, 16] as const;
/** The breakdown of the main thread's CPU by step is taken at this many depositors. */
const BREAKDOWN_DEPOSITORS = 16;
/** One SQLite page: about what a WAL commit appends (a deposit commits a few pages). */
const BARE_BYTES = 4096;
/** A small write + fsync is ~10x faster than an atomic 480 KB write, so allow more of them. */
const BARE_OPS_FACTOR = 10;

interface Level {
  concurrency: number;
  voicegate: DepositRun;
  atomic: Rate;
  /** The yardstick's process CPU (all threads) per atomic write. */
  atomicCpuMs: number;
  bare: Rate;
  /**
   * The yardstick's atomic writes, each followed by Voicegate's own commit of a row naming the
   * file (SqliteStore.addMessages: grouped, the WAL fsynced), waited for by its writer before
   * the next: the disk's and SQLite's work of a deposit without its event-loop steps.
   */
  committed: Rate;
  committedCpuMs: number;
  /** Voicegate deposits/s ÷ committed writes/s: how far the deposit path is from that ceiling. */
  ratioToCommitted: number;
  /** Voicegate deposits/s ÷ yardstick atomic writes/s: the figure. */
  ratio: number;
  /** Voicegate deposits/s ÷ the best atomic writes/s seen at any concurrency. */
  ratioToBest: number;
  /** If a deposit cost exactly one atomic write plus one bare commit: bare/(atomic+bare). */
  estimatedCeiling: number;
}

const benchmark: Benchmark = {
  name: 'deposit',
  title: 'Durable deposits of 30-second voicemails vs the disk’s own atomic-write rate',
  run,
};
export default benchmark;

/** A scratch folder under os.tmpdir() if that is on the project's disk, else inside the project. */
function scratchRoot(): string {
  const sameDisk = statSync(tmpdir()).dev === statSync(PROJECT_DIR).dev;
  const parent = sameDisk ? tmpdir() : join(PROJECT_DIR, 'test', 'bench');
  return mkdtempSync(join(parent, 'voicegate-bench-deposit-'));
}

/**
 * Deletes a step's files and commits the deletion before the next step is timed, so freeing
 * (and, on a `discard` mount, trimming) hundreds of MB does not land in someone else's fsync.
 */
function removeStep(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  fsyncPath(dirname(dir));
}

/**
 * One concurrency level: bare fsyncs, then half the atomic yardstick, Voicegate, the other half
 * (A-B-A), so slow drift in the disk's speed (common on VMs) weighs on both sides alike.
 */
async function measureLevel(
  root: string,
  n: number,
  audio: Uint8Array,
  opts: BenchOptions,
): Promise<Omit<Level, 'ratioToBest'>> {
  const half = { seconds: opts.seconds / 2, maxOps: Math.ceil(opts.maxOps / 2) };
  const step = (name: string): string => join(root, `${name}-${n}`);
  const fsyncStep = async (
    mode: 'atomic' | 'bare',
    name: string,
    bytes: number,
    bounds: BenchOptions,
  ) => {
    const sample = await measureFsync({ mode, dir: step(name), writers: n, bytes, ...bounds });
    removeStep(step(name));
    return sample;
  };
  const bareSample = await fsyncStep('bare', 'bare', BARE_BYTES, {
    seconds: half.seconds,
    maxOps: opts.maxOps * BARE_OPS_FACTOR,
  });
  const atomicA = await fsyncStep('atomic', 'atomic-a', audio.byteLength, half);
  const voicegate = await startDepositProcess({ dir: step('voicegate'), depositors: n, ...opts });
  removeStep(step('voicegate'));
  const atomicB = await fsyncStep('atomic', 'atomic-b', audio.byteLength, half);
  const committedSample = await measureCommitted(step('committed'), n, audio.byteLength, half);
  removeStep(step('committed'));
  const committed = summarize([committedSample], audio.byteLength);
  const atomic = summarize([atomicA, atomicB], audio.byteLength);
  const bare = summarize([bareSample], BARE_BYTES);
  return {
    concurrency: n,
    voicegate,
    atomic,
    atomicCpuMs: (atomicA.cpuMs + atomicB.cpuMs) / atomic.ops,
    bare,
    committed,
    committedCpuMs: committedSample.cpuMs / committed.ops,
    ratioToCommitted: voicegate.opsPerSecond / committed.opsPerSecond,
    ratio: voicegate.opsPerSecond / atomic.opsPerSecond,
    estimatedCeiling: bare.opsPerSecond / (atomic.opsPerSecond + bare.opsPerSecond),
  };
}

/** The atomic yardstick with Voicegate's commit after each write (Level.committed). */
async function measureCommitted(
  dir: string,
  writers: number,
  bytes: number,
  bounds: BenchOptions,
): ReturnType<typeof measureFsync> {
  const opened = await openStore({ store: { backend: 'sqlite' }, dataDir: join(dir, 'store') });
  try {
    const boxes: { id: number }[] = [];
    for (let i = 0; i < writers; i++)
      boxes.push(await addMailbox(opened.store, `bench${i}`, String(200 + i)));
    return await measureFsync({
      mode: 'atomic',
      dir,
      writers,
      bytes,
      ...bounds,
      commit: async (writer, key) => {
        await opened.store.addMessages([newMessage(boxes[writer]!.id, key)], Date.now());
      },
    });
  } finally {
    await opened.close();
  }
}

function resultTable(levels: Level[]): Table {
  return {
    head: [
      'writers',
      'VG deposits/s',
      'VG MB/s',
      'VG p50 ms',
      'VG p99 ms',
      'atomic writes/s',
      'atomic p50/p99 ms',
      'bare fsync/s',
      'atomic+commit/s',
      'ratio',
      'ratio to atomic+commit',
      'est. ceiling',
      'ratio to best atomic',
    ],
    rows: levels.map((l) => [
      String(l.concurrency),
      fixed(l.voicegate.opsPerSecond),
      fixed(l.voicegate.mbPerSecond),
      fixed(l.voicegate.p50Ms),
      fixed(l.voicegate.p99Ms),
      fixed(l.atomic.opsPerSecond),
      `${fixed(l.atomic.p50Ms)}/${fixed(l.atomic.p99Ms)}`,
      fixed(l.bare.opsPerSecond, 0),
      fixed(l.committed.opsPerSecond),
      fixed(l.ratio, 2),
      fixed(l.ratioToCommitted, 2),
      fixed(l.estimatedCeiling, 2),
      fixed(l.ratioToBest, 2),
    ]),
  };
}

/**
 * The main thread's busy time per deposit that was not its CPU: blocked in a synchronous call
 * (SQLite's writes to the WAL while the disk is busy) or waiting for a core.
 */
function offCpuMs(run: DepositRun): number {
  return (run.eventLoopUtilization * run.seconds * 1000) / run.ops - run.mainThreadCpuMsPerDeposit;
}

function timeTable(levels: Level[]): Table {
  return {
    head: [
      'writers',
      'deposits',
      'seconds',
      'audio put ms (mean)',
      'SQLite commit ms (mean)',
      'main thread busy',
      'CPU ms/deposit',
      'of it main thread',
      'main thread busy off-CPU ms/deposit',
      'yardstick CPU ms/write',
      'atomic+commit CPU ms/write',
    ],
    rows: levels.map((l) => [
      String(l.concurrency),
      String(l.voicegate.ops),
      fixed(l.voicegate.seconds, 2),
      fixed(l.voicegate.audioPutMs),
      fixed(l.voicegate.commitMs, 2),
      `${Math.round(l.voicegate.eventLoopUtilization * 100)}%`,
      fixed(l.voicegate.cpuMsPerDeposit, 2),
      fixed(l.voicegate.mainThreadCpuMsPerDeposit, 2),
      fixed(offCpuMs(l.voicegate), 2),
      fixed(l.atomicCpuMs, 2),
      fixed(l.committedCpuMs, 2),
    ]),
  };
}

/**
 * Where the main thread's CPU per deposit goes, from a run of its own (timing each statement
 * costs a little): each SQLite statement and command, the audio put (its puts alone, at the
 * same concurrency), and the rest (the deposit's JavaScript, the WAL fsync's and the change
 * feed's steps, GC).
 */
function breakdownTable(run: DepositRun): Table {
  const steps = run.steps ?? [];
  const sqlUs = steps.reduce((sum, s) => sum + s.cpuUsPerDeposit, 0);
  const putUs = run.putMainCpuUs ?? 0;
  const mainUs = run.mainThreadCpuMsPerDeposit * 1000;
  const share = (us: number): string => `${Math.round((100 * us) / mainUs)}%`;
  return {
    head: ['main-thread step', 'calls/deposit', 'CPU µs/deposit', 'share'],
    rows: [
      ...steps.map((s) => [
        s.step,
        fixed(s.callsPerDeposit, 2),
        fixed(s.cpuUsPerDeposit, 0),
        share(s.cpuUsPerDeposit),
      ]),
      ['all SQLite', '', fixed(sqlUs, 0), share(sqlUs)],
      ['audio put (puts alone)', '1', fixed(putUs, 0), share(putUs)],
      [
        'the rest (JS, other steps, GC)',
        '',
        fixed(mainUs - sqlUs - putUs, 0),
        share(mainUs - sqlUs - putUs),
      ],
      ['main thread in all', '', fixed(mainUs, 0), '100%'],
    ],
  };
}

function notes(
  opts: BenchOptions,
  fsText: string,
  bytes: number,
  vg: DepositRun,
  load: string,
): string[] {
  return [
    `Load average (1 min) at the start, then after each level: ${load}; the machine's other work ` +
      'shares its cores and disk.',
    `Filesystem: ${fsText}.`,
    `Message: ${bytes} bytes (toneWav 30 s, 8 kHz 16-bit mono); MB = 10^6 bytes.`,
    `Bounds per level: Voicegate ${opts.seconds} s or ${opts.maxOps} deposits, whichever first ` +
      `(after ${WARM_UP_DEPOSITS} untimed ones); atomic yardstick the same, split in two halves run ` +
      `before and after Voicegate (A-B-A, against drift); bare ${opts.seconds / 2} s or ` +
      `${opts.maxOps * BARE_OPS_FACTOR} fsyncs.`,
    'VG = ctx.messages.deposit() on a fresh store (its 256 audio fan-out folders made beforehand), ' +
      'each depositor on its own mailbox, in a process of its own started as `voicegate serve` starts ' +
      `(test/bench/deposit-process.ts): node ${vg.flags.join(' ')}, UV_THREADPOOL_SIZE=${vg.threadPool}, ` +
      `${serverAllocator()} (bin/server-flags.js). p50/p99 are per deposit.`,
    'Yardstick: plain node:fs sync calls, one worker thread per writer, so N writers = N syscalls in ' +
      'flight. atomic = write 480 KB to a temp file, fsync, rename into a ' +
      'fan-out folder, fsync the folder; bare = 4 KB append + fsync.',
    'ratio = VG deposits/s ÷ atomic writes/s at the same concurrency: the figure. Its ceiling is below 1: ' +
      'a deposit is one atomic audio write plus one SQLite commit (WAL), i.e. 3 fsyncs ' +
      "(file, folder, WAL) against the yardstick's 2, plus a WAL checkpoint now and then; concurrent " +
      'deposits share folder and WAL fsyncs, which the yardstick does not. ' +
      'est. ceiling = bare/(atomic+bare): the ratio if a deposit cost exactly one atomic write plus one ' +
      'bare commit. ratio to best atomic divides by the best atomic rate at any concurrency.',
    'atomic+commit = the atomic yardstick where each writer, after each write, waits for ' +
      "Voicegate's own commit of a row naming the file (SqliteStore.addMessages on the bench's " +
      'main thread: grouped, WAL fsynced) before its next write, for half the bounds: what the disk ' +
      "and SQLite allow a deposit without its event-loop steps (fs/promises' hops, the domain's " +
      'JavaScript). ratio to atomic+commit = VG ÷ that: the part of the gap those steps make.',
    `Voicegate's file writes and fsyncs, and the WAL fsync of each group commit, run on libuv's ` +
      `thread pool (${vg.threadPool} threads); the SQLite statements on the main thread ` +
      '(see "main thread busy"). CPU = process.cpuUsage over the timed part (all threads, user + ' +
      "system); of it main thread = process.threadCpuUsage; the yardstick's = the bench process's CPU " +
      'while its writer threads run.',
  ];
}

async function run(opts: BenchOptions): Promise<void> {
  const root = scratchRoot();
  try {
    const fs = filesystemOf(root);
    const fsText = `${root} is ${describeFilesystem(fs)}`;
    const audio = toneWav({ seconds: 30 });
    console.log(`scratch: ${fsText}`);
    // Untimed: the first second of writes on a VM disk is often slower than the rest.
    await measureFsync({
      mode: 'atomic',
      dir: join(root, 'warm-up'),
      writers: 1,
      bytes: audio.byteLength,
      seconds: 1,
      maxOps: 200,
    });
    removeStep(join(root, 'warm-up'));
    const measured: Omit<Level, 'ratioToBest'>[] = [];
    const load = [loadavg()[0]!];
    for (const n of LEVELS) {
      const level = await measureLevel(root, n, audio, opts);
      console.log(
        `  ${n} writer(s): Voicegate ${fixed(level.voicegate.opsPerSecond)} deposits/s, ` +
          `atomic ${fixed(level.atomic.opsPerSecond)}/s, bare ${fixed(level.bare.opsPerSecond, 0)}/s`,
      );
      measured.push(level);
      load.push(loadavg()[0]!);
    }
    const breakdown = await startDepositProcess({
      dir: join(root, 'breakdown'),
      depositors: BREAKDOWN_DEPOSITORS,
      ...opts,
      breakdown: true,
    });
    removeStep(join(root, 'breakdown'));
    load.push(loadavg()[0]!);
    const best = Math.max(...measured.map((l) => l.atomic.opsPerSecond));
    const levels: Level[] = measured.map((l) => ({
      ...l,
      ratioToBest: l.voicegate.opsPerSecond / best,
    }));
    const lines = notes(
      opts,
      fsText,
      audio.byteLength,
      levels[0]!.voicegate,
      load.map((l) => l.toFixed(1)).join(', '),
    );
    const c = breakdown.commits!;
    const breakdownTitle =
      `The main thread's CPU per deposit by step, ${BREAKDOWN_DEPOSITORS} depositors ` +
      `(${fixed(breakdown.opsPerSecond)} deposits/s, main thread busy ` +
      `${Math.round(breakdown.eventLoopUtilization * 100)}%, ` +
      `${fixed(breakdown.mainThreadCpuMsPerDeposit, 2)} ms of its CPU and ` +
      `${fixed((breakdown.eventLoopUtilization * breakdown.seconds * 1000) / breakdown.ops, 2)} ms ` +
      `busy per deposit). Group COMMITs on the main thread (wall time): ${c.count}, ` +
      `p50 ${fixed(c.p50, 2)} ms, p99 ${fixed(c.p99, 2)} ms, max ${fixed(c.max, 1)} ms; ` +
      `${c.over5ms} over 5 ms (${fixed(c.over5msTotal, 0)} of the ${fixed(c.total, 0)} ms in COMMIT). ` +
      `Calls handed to libuv's thread pool (hops of the event loop) per deposit: ` +
      `${fixed(
        Object.values(breakdown.poolCalls ?? {}).reduce((a, b) => a + b, 0),
        2,
      )}. ` +
      'WAL checkpoints run on a thread of their own (server/store/checkpointer.ts):';
    console.log(
      `\n${textTable(resultTable(levels))}\n\nWhere a deposit's time goes:\n${textTable(timeTable(levels))}\n` +
        `\n${breakdownTitle}\n${textTable(breakdownTable(breakdown))}\n`,
    );
    for (const line of lines) console.log(`- ${line}`);

    const m = machine();
    const markdown = [
      `# Deposit benchmark`,
      '',
      `${new Date().toISOString()}; Node ${m.node}, Linux ${m.kernel}, ${m.cpus}, ${m.memoryGiB} GiB; ` +
        `\`npm run bench\` (test/bench/deposit.ts).`,
      '',
      markdownTable(resultTable(levels)),
      '',
      "Where a deposit's time goes:",
      '',
      markdownTable(timeTable(levels)),
      '',
      breakdownTitle,
      '',
      markdownTable(breakdownTable(breakdown)),
      '',
      ...lines.map((l) => `- ${l}`),
    ].join('\n');
    const file = writeResult('deposit', markdown, {
      benchmark: 'deposit',
      at: new Date().toISOString(),
      machine: m,
      filesystem: { ...fs, path: root },
      messageBytes: audio.byteLength,
      bareBytes: BARE_BYTES,
      bounds: {
        ...opts,
        bareMaxOps: opts.maxOps * BARE_OPS_FACTOR,
        warmUpDeposits: WARM_UP_DEPOSITS,
      },
      levels,
      breakdown,
    });
    console.log(`\nwritten: ${file}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
