/**
 * The sip benchmark's figures: their types, the tables (terminal and Markdown) and
 * results/sip.md.
 */
import { cpus } from 'node:os';
import {
  fixed,
  machine,
  markdownTable,
  textTable,
  writeResult,
  type BenchOptions,
  type Table,
} from './bench-kit.ts';
import type { LatenessStats } from './sip-kit.ts';
import type { Integrity } from './sip-recordings.ts';
import type { ServerStats } from './sip-server.ts';

export interface Yardstick {
  streams: number;
  seconds: number;
  /** Lateness of each packet against its ideal time, just before send(). */
  send: LatenessStats;
  /** The same streams as the caller process received them. */
  receive: LatenessStats;
  received: number;
  lost: number;
  cpuMs: number;
  wallMs: number;
  eventLoopUtilization: number;
}

export interface VoicegateStep {
  calls: number;
  rampMs: number;
  /** Calls answered with 200, completed (BYE answered 200), refused (486), failed otherwise. */
  setUp: number;
  completed: number;
  refused: number;
  failed: number;
  /** Most calls in a dialog at once, as the callers counted. */
  peakActive: number;
  server: ServerStats;
  /** Peak resident set of the server during the step, sampled every 250 ms. */
  serverPeakRssMiB: number;
  receive: LatenessStats;
  greetingPackets: number;
  greetingLost: number;
  fallbacks: number;
  setupMsP50: number;
  setupMsP99: number;
  byeMsP50: number;
  byeMsP99: number;
  generator: { cpuMs: number; eventLoopUtilization: number; send: LatenessStats };
  wallMs: number;
  integrity: Integrity;
  failures: string[];
}

export interface Step {
  calls: number;
  yardstick: Yardstick;
  voicegate: VoicegateStep;
  /** Cores the machine had busy during the Voicegate step, and those not ours. */
  machineCores: number;
  othersCores: number;
  loadAverage: { before: number; after: number };
  ratio: number;
  pass: boolean;
}

export interface Results {
  opts: BenchOptions;
  scratch: string;
  plan: {
    greetingSeconds: number;
    toneSeconds: number;
    mailboxes: number;
    callsPerSecond: number;
    maxRampMs: number;
    warmUpCalls: number;
    thresholdMs: number;
    silenceDuringGreeting: boolean;
  };
  steps: Step[];
  /** The largest step that passed, 0 when none did. */
  figure: number;
  /** The largest step below which every step passed too. */
  sustained: number;
}

const pct = (share: number): string => `${Math.round(share * 100)}%`;
const lat = (s: LatenessStats): string =>
  `${fixed(s.p50Ms, 2)}/${fixed(s.p99Ms, 2)}/${fixed(s.maxMs, 1)}`;
const cpuPct = (cpuMs: number, wallMs: number): string => `${Math.round((cpuMs / wallMs) * 100)}%`;

function mainTable(steps: Step[]): Table {
  return {
    head: [
      'calls',
      'set up',
      'completed',
      'refused',
      'failed',
      'peak simultaneous',
      'VG send p50/p99/max ms',
      'yardstick p50/p99/max ms',
      'p99 ratio',
      'recv p99 VG/yardstick ms',
      'recordings intact',
      'VG CPU',
      'VG RSS MiB',
      'pass',
    ],
    rows: steps.map((s) => {
      const v = s.voicegate;
      return [
        String(s.calls),
        String(v.setUp),
        String(v.completed),
        String(v.refused),
        String(v.failed),
        String(v.peakActive),
        lat(v.server.clock),
        lat(s.yardstick.send),
        fixed(s.ratio, 1),
        `${fixed(v.receive.p99Ms, 2)}/${fixed(s.yardstick.receive.p99Ms, 2)}`,
        `${v.integrity.intact}/${v.integrity.calls}`,
        cpuPct(v.server.cpuMs, v.server.wallMs),
        fixed(v.serverPeakRssMiB, 0),
        s.pass ? 'yes' : 'no',
      ];
    }),
  };
}

function costTable(steps: Step[]): Table {
  return {
    head: [
      'calls',
      'ramp s',
      'step s',
      'setup p50/p99 ms',
      'BYE→200 p50/p99 ms',
      'VG main thread busy',
      'VG skipped ticks',
      'callers CPU',
      'callers send p99 ms',
      'yardstick CPU',
      'machine cores busy',
      'by others',
      'load avg before/after',
    ],
    rows: steps.map((s) => {
      const v = s.voicegate;
      return [
        String(s.calls),
        fixed(v.rampMs / 1000, 1),
        fixed(v.wallMs / 1000, 1),
        `${fixed(v.setupMsP50)}/${fixed(v.setupMsP99)}`,
        `${fixed(v.byeMsP50)}/${fixed(v.byeMsP99)}`,
        pct(v.server.eventLoopUtilization),
        String(v.server.clock.skippedTicks),
        cpuPct(v.generator.cpuMs, v.wallMs),
        fixed(v.generator.send.p99Ms, 2),
        cpuPct(s.yardstick.cpuMs, s.yardstick.wallMs),
        fixed(s.machineCores, 2),
        fixed(s.othersCores, 2),
        `${fixed(s.loadAverage.before, 1)}/${fixed(s.loadAverage.after, 1)}`,
      ];
    }),
  };
}

function sustainedText(r: Results): string {
  return r.sustained > 0
    ? `every step up to ${r.sustained} passed`
    : 'the smallest step already failed';
}

function notes(r: Results): string[] {
  const p = r.plan;
  const problems = r.steps.flatMap((s) =>
    [...s.voicegate.failures, ...s.voicegate.integrity.problems].map((x) => `${s.calls}: ${x}`),
  );
  const loads = r.steps.flatMap((s) => [s.loadAverage.before, s.loadAverage.after]);
  return [
    `Scratch folder: ${r.scratch}.`,
    'Voicegate: startServer() in a process of its own (sip-server.ts) on a fresh data folder, ' +
      `SIP on UDP 127.0.0.1, RTP ports 20000-23999, sip.maxCalls 2000, log.level warn; ` +
      `${p.mailboxes} mailboxes (201...), each with a ${p.greetingSeconds} s 440 Hz greeting ` +
      '(the "unavailable" greeting, so the built-in leave-message flow plays it, then its tone, ' +
      'then records).',
    'Callers: one process of our own (sip-caller.ts, sip-calls.ts), a minimal SIP UAC over UDP ' +
      'with one RTP socket per call and one drift-free 20 ms ticker. Call i dials mailbox ' +
      `201 + i mod ${p.mailboxes} from its own number, offers PCMU and telephone-event, ACKs, ` +
      `${p.silenceDuringGreeting ? 'sends silence while it hears the greeting (as a phone does), ' : ''}` +
      'and once the tone after the greeting has played (its second talkspurt, then 100 ms of ' +
      `quiet) sends ${p.toneSeconds} s of its own tone (300 + 5i Hz), 200 ms of silence, and BYE. ` +
      `INVITEs are spread over N / ${p.callsPerSecond} s (at most ${fixed(p.maxRampMs / 1000, 0)} s), ` +
      'so all N calls are up together. ' +
      `Before the first step, ${p.warmUpCalls} calls warm the server up (not counted).`,
    'VG send = the lateness of every RTP packet Voicegate sent during the step against its ideal ' +
      "time, from the server's own media clock on its media thread (`phone.media.stats()`, reset at " +
      "the step's start): p50/p99/max over all packets. " +
      'It includes the time to walk the calls within a tick ' +
      '(the Nth session of a tick is sent after the N-1 before it), but not the system call itself: ' +
      'send() on an unconnected socket defers it (an address lookup, then the datagram leaves in ' +
      "process.nextTick, after the tick's walk); the receive-side jitter sees that part.",
    'Yardstick: a bare Node process (sip-yardstick.ts) pacing the same number of RTP streams at ' +
      `20 ms for ${p.greetingSeconds} s with one drift-free timer and nothing else (no SIP, no ` +
      'flows, no recording), a socket per stream and the same send() call and lateness ' +
      'measurement as the media clock, to as many sockets in the caller process. It runs just ' +
      'before the Voicegate step of the same size. p99 ratio = VG send p99 ÷ yardstick send p99.',
    'recv p99 = the receive-side jitter at the callers (cross-check): per stream, each ' +
      "packet's arrival minus its RTP timestamp, beyond the stream's quickest packet; it includes " +
      "the caller process's own event-loop delays.",
    'Recordings intact: each call left exactly one message (matched by its caller number), ' +
      `${p.toneSeconds} s to ${p.toneSeconds} s + 1 s long, whose 20 ms blocks with sound number ` +
      `${p.toneSeconds * 50} ± 1 and are contiguous (no hole filled with silence), and whose ` +
      "sound holds at least 90% of its energy at that call's own frequency (Goertzel).",
    `pass = every call set up and completed, every recording intact, VG send p99 < ${p.thresholdMs} ms. ` +
      `The figure is the largest such step: **${r.figure || 'none'}** simultaneous calls ` +
      `(${sustainedText(r)}). p99 over a step is decided by its ` +
      'worst 1% of ticks, so a few scheduling hiccups on a shared 2-core machine can fail a ' +
      'step that its neighbours pass: read the row values, not only pass/fail.',
    'BYE→200: Voicegate answers the BYE once the message is durable (deposit with fsync), so it ' +
      'is the time to store the message. VG CPU = its CPU time over the step wall time (100% is ' +
      'one core); VG RSS = the peak resident set during the step.',
    `Machine: ${cpus().length} CPUs shared by Voicegate, the callers and the yardstick (run one ` +
      'after the other); "by others" = cores busy with other processes during the Voicegate step; ' +
      `load average (1 min) from ${fixed(Math.min(...loads), 1)} to ${fixed(Math.max(...loads), 1)}.`,
    ...(problems.length > 0 ? [`Problems seen: ${problems.slice(0, 12).join('; ')}.`] : []),
  ];
}

export function report(r: Results): void {
  const m = machine();
  const at = new Date().toISOString();
  const tables = [mainTable(r.steps), costTable(r.steps)];
  console.log(`\n${tables.map(textTable).join('\n\n')}`);
  console.log(
    `\nsimultaneous calls with send p99 < ${r.plan.thresholdMs} ms and every recording intact: ` +
      `${r.figure || 'none'} (${sustainedText(r)})`,
  );
  const md = [
    '# SIP benchmark',
    '',
    `${at}; Node ${m.node}, Linux ${m.kernel}, ${m.cpus}, ${m.memoryGiB} GiB; \`npm run bench -- sip\` (test/bench/sip.ts).`,
    '',
    '## Simultaneous calls (each hears a greeting and leaves a message), beside a bare UDP pacer',
    '',
    markdownTable(tables[0]!),
    '',
    'Where the time and CPU go:',
    '',
    markdownTable(tables[1]!),
    '',
    ...notes(r).map((n) => `- ${n}`),
  ].join('\n');
  const file = writeResult('sip', md, {
    benchmark: 'sip',
    at,
    machine: m,
    ...r,
  });
  console.log(`\nwrote ${file}`);
}
