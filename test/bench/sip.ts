/**
 * Simultaneous calls, each hearing a greeting and leaving a message, with Voicegate in a process
 * of its own (sip-server.ts) and the calls placed by a load generator in another
 * (sip-caller.ts): steps of N calls, and per step the server's RTP send lateness (its shared
 * media clock), the callers' receive-side jitter, and whether every recording is intact. Before
 * each step, a bare Node process paces the same number of RTP streams (sip-yardstick.ts): the
 * floor for the send lateness on this machine at that N.
 * The figure: the largest N with send p99 < 5 ms and every call's recording intact.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  describeFilesystem,
  filesystemOf,
  percentile,
  PROJECT_DIR,
  type BenchOptions,
  type Benchmark,
} from './bench-kit.ts';
import type { CallPlan, CallsReport } from './sip-calls.ts';
import { IpcChild, rssMiB, type LatenessStats } from './sip-kit.ts';
import { checkRecordings } from './sip-recordings.ts';
import { report, type Step, type VoicegateStep, type Yardstick } from './sip-report.ts';
import type { ServerSettings, ServerStats, StoredMessage } from './sip-server.ts';
import { loadMeter, selfCpuMs, treeCpuMs } from './web-servers.ts';

const STEPS = [50, 100, 150, 200, 300, 400, 500, 750] as const;
const THRESHOLD_MS = 5;
const GREETING_SECONDS = 8;
const MAILBOXES = 10;
const FIRST_EXTENSION = 201;
const CALLS_PER_SECOND = 125;
const MAX_RAMP_MS = 4000;
const WARM_UP_CALLS = 20;
const SILENCE_DURING_GREETING = true;
/** The tone each caller records is --seconds long, within these bounds. */
const MIN_TONE_SECONDS = 2;
const MAX_TONE_SECONDS = 20;
const STEP_TIMEOUT_MS = 55_000;
const RSS_SAMPLE_MS = 250;
/** Node flags for the Voicegate process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` or `--trace-gc`. */
const NODE_ARGS_ENV = 'SIP_BENCH_NODE_ARGS';
/** Steps to run instead of STEPS (comma-separated), to look at one size closely. */
const STEPS_ENV = 'SIP_BENCH_STEPS';

const benchmark: Benchmark = {
  name: 'sip',
  title: 'simultaneous calls (greeting + recording) with RTP send p99 < 5 ms, vs a bare UDP pacer',
  run,
};
export default benchmark;

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

/** A scratch folder under os.tmpdir() if that is on the project's disk, else inside the project. */
function scratchRoot(): string {
  const sameDisk = statSync(tmpdir()).dev === statSync(PROJECT_DIR).dev;
  const parent = sameDisk ? tmpdir() : join(PROJECT_DIR, 'test', 'bench');
  return mkdtempSync(join(parent, 'voicegate-bench-sip-'));
}

interface Processes {
  server: IpcChild;
  caller: IpcChild;
  yardstick: IpcChild;
  sipPort: number;
}

async function startProcesses(root: string, started: IpcChild[]): Promise<Processes> {
  const settings: ServerSettings = {
    mailboxes: MAILBOXES,
    firstExtension: FIRST_EXTENSION,
    greetingSeconds: GREETING_SECONDS,
    greetingFrequency: 440,
    sets: [
      'http.port=0',
      'http.tls=false',
      'imap.port=0',
      'imap.tlsPort=0',
      'smtp.port=0',
      'sip.host=127.0.0.1',
      'sip.port=0',
      'sip.rtpPortMin=20000',
      'sip.rtpPortMax=23999',
      'sip.maxCalls=2000',
      `policy.maxMessageSeconds=${MAX_TONE_SECONDS + 20}`,
      'log.level=warn',
    ],
  };
  const dataDir = join(root, 'voicegate');
  const server = new IpcChild(
    'voicegate',
    here('./sip-server.ts'),
    [dataDir, JSON.stringify(settings)],
    join(root, 'voicegate.log'),
    (process.env[NODE_ARGS_ENV] ?? '').split(' ').filter(Boolean),
  );
  started.push(server);
  const ready = server.ready();
  const caller = new IpcChild('callers', here('./sip-caller.ts'), [], join(root, 'callers.log'));
  started.push(caller);
  const yardstick = new IpcChild(
    'yardstick',
    here('./sip-yardstick.ts'),
    [],
    join(root, 'yardstick.log'),
  );
  started.push(yardstick);
  const [info] = await Promise.all([ready, caller.ready(), yardstick.ready()]);
  return { server, caller, yardstick, sipPort: Number(info.sip) };
}

function plan(p: Processes, calls: number, toneSeconds: number, prefix: string): CallPlan {
  return {
    calls,
    sipPort: p.sipPort,
    firstExtension: FIRST_EXTENSION,
    mailboxes: MAILBOXES,
    rampMs: Math.min(MAX_RAMP_MS, (calls / CALLS_PER_SECOND) * 1000),
    toneSeconds,
    numberPrefix: prefix,
    silenceDuringGreeting: SILENCE_DURING_GREETING,
    timeoutMs: STEP_TIMEOUT_MS,
  };
}

async function measureYardstick(
  p: Processes,
  n: number,
  seconds = GREETING_SECONDS,
): Promise<Yardstick> {
  const { ports } = await p.caller.request<{ ports: number[] }>({ cmd: 'sink-open', n });
  const sent = await p.yardstick.request<{
    send: LatenessStats;
    cpuMs: number;
    wallMs: number;
    eventLoopUtilization: number;
  }>({ cmd: 'run', ports, seconds });
  const got = await p.caller.request<{ receive: LatenessStats; packets: number; lost: number }>({
    cmd: 'sink-close',
  });
  return {
    streams: n,
    seconds,
    send: sent.send,
    receive: got.receive,
    received: got.packets,
    lost: got.lost,
    cpuMs: sent.cpuMs,
    wallMs: sent.wallMs,
    eventLoopUtilization: sent.eventLoopUtilization,
  };
}

async function measureVoicegate(
  p: Processes,
  n: number,
  toneSeconds: number,
  prefix: string,
): Promise<VoicegateStep> {
  await p.server.request({ cmd: 'reset' });
  let peakRss = rssMiB(p.server.pid);
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssMiB(p.server.pid));
  }, RSS_SAMPLE_MS);
  const calls = plan(p, n, toneSeconds, prefix);
  let res: { report: CallsReport; cpuMs: number; eventLoopUtilization: number };
  try {
    res = await p.caller.request({ cmd: 'calls', plan: calls });
  } finally {
    clearInterval(sampler);
  }
  const { stats } = await p.server.request<{ stats: ServerStats }>({ cmd: 'stats' });
  const { messages } = await p.server.request<{ messages: StoredMessage[] }>({
    cmd: 'messages',
    prefix,
  });
  const r = res.report;
  const results = r.results;
  const count = (o: string): number => results.filter((c) => c.outcome === o).length;
  const setups = results.filter((c) => Number.isFinite(c.setupMs)).map((c) => c.setupMs);
  const byes = results.filter((c) => Number.isFinite(c.byeMs)).map((c) => c.byeMs);
  const failures = results
    .filter((c) => c.outcome !== 'completed')
    .slice(0, 5)
    .map((c) => `call ${c.i} ${c.outcome}: ${c.reason}`);
  return {
    calls: n,
    rampMs: calls.rampMs,
    setUp: setups.length,
    completed: count('completed'),
    refused: count('refused'),
    failed: count('failed'),
    peakActive: r.peakActive,
    server: stats,
    serverPeakRssMiB: Math.max(peakRss, stats.rssMiB),
    receive: r.receive,
    greetingPackets: results.reduce((s, c) => s + c.greetingPackets, 0),
    greetingLost: results.reduce((s, c) => s + c.greetingLost, 0),
    fallbacks: results.filter((c) => c.fallback).length,
    setupMsP50: percentile(setups, 50),
    setupMsP99: percentile(setups, 99),
    byeMsP50: percentile(byes, 50),
    byeMsP99: percentile(byes, 99),
    generator: {
      cpuMs: res.cpuMs,
      eventLoopUtilization: res.eventLoopUtilization,
      send: r.send,
    },
    wallMs: r.wallMs,
    integrity: checkRecordings(results, messages, toneSeconds),
    failures,
  };
}

async function measureStep(
  p: Processes,
  n: number,
  index: number,
  toneSeconds: number,
): Promise<Step> {
  const before = loadavg()[0]!;
  const yardstick = await measureYardstick(p, n);
  const load = loadMeter(
    () => selfCpuMs() + [p.server, p.caller, p.yardstick].reduce((s, c) => s + treeCpuMs(c.pid), 0),
  );
  const voicegate = await measureVoicegate(p, n, toneSeconds, `555${index + 1}`);
  const { busyCores: cores, othersCores } = load();
  const v = voicegate;
  const pass =
    v.completed === n &&
    v.integrity.intact === n &&
    v.server.clock.p99Ms < THRESHOLD_MS &&
    v.server.clock.packets > 0;
  const step: Step = {
    calls: n,
    yardstick,
    voicegate,
    machineCores: cores,
    othersCores,
    loadAverage: { before, after: loadavg()[0]! },
    ratio: v.server.clock.p99Ms / yardstick.send.p99Ms,
    pass,
  };
  const c = v.server.clock;
  console.log(
    `  ${n} calls: ${v.setUp} set up, ${v.completed} completed, ${v.refused} refused, ` +
      `${v.failed} failed, peak ${v.peakActive}; send p50/p99/max ${c.p50Ms.toFixed(2)}/` +
      `${c.p99Ms.toFixed(2)}/${c.maxMs.toFixed(1)} ms (yardstick p99 ` +
      `${yardstick.send.p99Ms.toFixed(2)} ms, ratio ${step.ratio.toFixed(1)}); recv p99 ` +
      `${v.receive.p99Ms.toFixed(2)} ms; intact ${v.integrity.intact}/${n}; server CPU ` +
      `${Math.round((v.server.cpuMs / v.server.wallMs) * 100)}%, RSS ` +
      `${v.serverPeakRssMiB.toFixed(0)} MiB; others ${othersCores.toFixed(2)} cores, load ` +
      `${step.loadAverage.after.toFixed(1)}; ` +
      `${pass ? 'pass' : 'FAIL'}`,
  );
  for (const problem of [...v.failures, ...v.integrity.problems].slice(0, 4))
    console.log(`    ${problem}`);
  return step;
}

async function run(opts: BenchOptions): Promise<void> {
  const root = scratchRoot();
  const started: IpcChild[] = [];
  const toneSeconds = Math.round(
    Math.min(MAX_TONE_SECONDS, Math.max(MIN_TONE_SECONDS, opts.seconds)),
  );
  const chosen = process.env[STEPS_ENV]?.split(',').map(Number) ?? [...STEPS];
  const steps = chosen.filter((n) => n > 0 && n <= opts.maxOps);
  try {
    const scratch = `${root} is ${describeFilesystem(filesystemOf(root))}`;
    console.log(`scratch: ${scratch}`);
    const p = await startProcesses(root, started);
    // Untimed: each process's JIT (and the server's caches) warm up first.
    await measureYardstick(p, WARM_UP_CALLS * 5, 2);
    const warm = await measureVoicegate(p, WARM_UP_CALLS, MIN_TONE_SECONDS, '5550');
    console.log(
      `  warm-up: ${warm.completed}/${WARM_UP_CALLS} calls completed, ` +
        `${warm.integrity.intact} recordings intact`,
    );
    const results: Step[] = [];
    for (const [index, n] of steps.entries()) {
      const step = await measureStep(p, n, index, toneSeconds);
      results.push(step);
      // Lost calls or damaged recordings: larger steps would only lose more.
      const v = step.voicegate;
      if (v.completed < n || v.integrity.intact < n) break;
    }
    const figure = Math.max(0, ...results.filter((s) => s.pass).map((s) => s.calls));
    const firstFail = results.findIndex((s) => !s.pass);
    const sustained = firstFail < 0 ? figure : (results[firstFail - 1]?.calls ?? 0);
    report({
      opts,
      scratch,
      plan: {
        greetingSeconds: GREETING_SECONDS,
        toneSeconds,
        mailboxes: MAILBOXES,
        callsPerSecond: CALLS_PER_SECOND,
        maxRampMs: MAX_RAMP_MS,
        warmUpCalls: WARM_UP_CALLS,
        thresholdMs: THRESHOLD_MS,
        silenceDuringGreeting: SILENCE_DURING_GREETING,
      },
      steps: results,
      figure,
      sustained,
    });
  } finally {
    for (const child of started) await child.stop().catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
}
