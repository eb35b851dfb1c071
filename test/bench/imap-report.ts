/**
 * The IMAP benchmark's tables, targets and notes (terminal and Markdown), and the figures kept
 * in results/imap.md: summaries only, not the raw latencies of 10,000 sessions.
 */
import type { ScryptCost } from '../../server/domain/code-hash.ts';
import {
  fixed,
  markdownTable,
  mean,
  percentile,
  textTable,
  type BenchOptions,
  type machine,
  type Table,
} from './bench-kit.ts';
import type { Installed } from './imap-dovecot.ts';
import type { SessionsResult, Step } from './imap-load-worker.ts';
import type { Memory, ThreadCpu } from './imap-proc.ts';

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

type Servers<T> = { voicegate: T; dovecot: T };

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
  wavBytes: number;
  messagesPerMailbox: number;
  exportedBytes: number;
  inotify: string[];
  sessions: Servers<SessionRun>;
  idle: Servers<IdleRun>;
}

const TARGET_P99_RATIO = 1.5;
/** The CPU shares are of both cores of the machine. */
const CORES = 2;
const TARGET_IDLE_SESSIONS = 10_000;
const TARGET_IDLE_MIB = 200;
const TARGET_EXISTS_P99_MS = 100;

const STEP_NAMES: Record<Step | 'session', string> = {
  connect: 'connect + greeting',
  login: 'LOGIN',
  select: 'SELECT INBOX',
  fetchMeta: 'FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)',
  fetchBody: 'FETCH 1 BODY[]',
  logout: 'LOGOUT',
  session: 'whole session',
};

function stats(values: number[]): {
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

function rate(r: SessionRun) {
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

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

function sessionTable(s: Servers<SessionRun>): Table {
  const row = (name: string, r: SessionRun): string[] => {
    const x = rate(r);
    const t = stats(r.latenciesMs.session);
    return [
      name,
      String(r.sessions),
      fixed(x.perSecond),
      fixed(x.mbPerSecond),
      fixed(t.p50),
      fixed(t.p99),
      fixed(x.serverCpuPerSession),
      fixed(x.generatorCpuPerSession),
      `${percent(x.serverShare)} / ${percent(x.generatorShare)} / ${percent(x.othersShare)}`,
      String(r.failed),
    ];
  };
  const v = rate(s.voicegate);
  const d = rate(s.dovecot);
  const vs = stats(s.voicegate.latenciesMs.session);
  const ds = stats(s.dovecot.latenciesMs.session);
  return {
    head: [
      'server',
      'sessions',
      'sessions/s',
      'MB/s',
      'session p50 ms',
      'session p99 ms',
      'server CPU ms/session',
      'generator CPU ms/session',
      'CPU server / generator / other work',
      'failed',
    ],
    rows: [
      row('Voicegate', s.voicegate),
      row('Dovecot', s.dovecot),
      [
        'Voicegate ÷ Dovecot',
        '',
        fixed(v.perSecond / d.perSecond, 2),
        fixed(v.mbPerSecond / d.mbPerSecond, 2),
        fixed(vs.p50 / ds.p50, 2),
        fixed(vs.p99 / ds.p99, 2),
        fixed(v.serverCpuPerSession / d.serverCpuPerSession, 2),
        '',
        '',
        '',
      ],
    ],
  };
}

function stepTable(s: Servers<SessionRun>): Table {
  return {
    head: [
      'command',
      'VG p50 ms',
      'VG p99 ms',
      'Dovecot p50 ms',
      'Dovecot p99 ms',
      'p99 ratio',
      `≤ ${TARGET_P99_RATIO}`,
    ],
    rows: (Object.keys(STEP_NAMES) as (Step | 'session')[]).map((step) => {
      const v = stats(s.voicegate.latenciesMs[step]);
      const d = stats(s.dovecot.latenciesMs[step]);
      const ratio = v.p99 / d.p99;
      return [
        STEP_NAMES[step],
        fixed(v.p50),
        fixed(v.p99),
        fixed(d.p50),
        fixed(d.p99),
        fixed(ratio, 2),
        ratio <= TARGET_P99_RATIO ? 'yes' : 'no',
      ];
    }),
  };
}

function pooled(run: IdleRun, key: 'fromCommitMs' | 'fromStartMs'): number[] {
  return run.rounds.flatMap((r) => r[key]);
}

function idleTable(s: Servers<IdleRun>): Table {
  const row = (name: string, r: IdleRun): string[] => {
    const c = stats(pooled(r, 'fromCommitMs'));
    const st = stats(pooled(r, 'fromStartMs'));
    const perSession = ((r.idle.rssMiB - r.baseline.rssMiB) * 1024) / Math.max(1, r.open);
    return [
      name,
      String(r.open),
      fixed(r.seconds),
      fixed(r.baseline.rssMiB),
      fixed(r.idle.rssMiB),
      fixed(r.idle.pssMiB),
      fixed(perSession),
      String(r.idle.processes),
      fixed(c.p50),
      fixed(c.p99),
      fixed(c.max),
      `${fixed(st.p50)}/${fixed(st.p99)}`,
      String(r.rounds.reduce((n, x) => n + x.missing, 0)),
      String(r.rounds.reduce((n, x) => n + x.lost, 0)),
    ];
  };
  return {
    head: [
      'server',
      'IDLE sessions',
      'opened in s',
      'RSS MiB before',
      'RSS MiB idle',
      'PSS MiB idle',
      'KiB/session (RSS)',
      'processes',
      'EXISTS p50 ms',
      'EXISTS p99 ms',
      'EXISTS max ms',
      'from start p50/p99 ms',
      'missed',
      'lost',
    ],
    rows: [row('Voicegate', s.voicegate), row('Dovecot', s.dovecot)],
  };
}

function depositTable(s: Servers<IdleRun>): Table {
  const row = (name: string, run: IdleRun): string[] => {
    const seen = run.rounds.filter((r) => r.fromCommitMs.length > 0);
    const first = seen.map((r) => Math.min(...r.fromCommitMs));
    const last = seen.map((r) => Math.max(...r.fromCommitMs));
    return [
      name,
      String(run.rounds.length),
      fixed(mean(run.rounds.map((r) => r.fromCommitMs.length + r.missing + r.lost))),
      fixed(
        percentile(
          run.rounds.map((r) => r.committedAt - r.startedAt),
          50,
        ),
      ),
      fixed(percentile(first, 50)),
      `${fixed(percentile(last, 50))}/${fixed(last.length ? Math.max(...last) : NaN)}`,
      fixed(mean(run.rounds.map((r) => r.serverCpuMs)), 0),
      String(run.rounds.reduce((n, r) => n + r.missing, 0)),
      String(run.rounds.reduce((n, r) => n + r.lost, 0)),
    ];
  };
  return {
    head: [
      'server',
      'deposits',
      'sessions per mailbox',
      'start→commit p50 ms',
      'first EXISTS p50 ms',
      'last EXISTS p50/max ms',
      'server CPU ms/deposit',
      'missed',
      'lost',
    ],
    rows: [row('Voicegate', s.voicegate), row('Dovecot', s.dovecot)],
  };
}

function targetTable(r: Results): Table {
  const v = rate(r.sessions.voicegate);
  const d = rate(r.sessions.dovecot);
  const worst = (Object.keys(STEP_NAMES) as (Step | 'session')[])
    .map((step) => ({
      step,
      ratio:
        stats(r.sessions.voicegate.latenciesMs[step]).p99 /
        stats(r.sessions.dovecot.latenciesMs[step]).p99,
    }))
    .sort((a, b) => b.ratio - a.ratio)[0]!;
  const vi = r.idle.voicegate;
  const vgExists = stats(pooled(vi, 'fromCommitMs')).p99;
  const dcExists = stats(pooled(r.idle.dovecot, 'fromCommitMs')).p99;
  const yes = (ok: boolean): string => (ok ? 'yes' : 'NO');
  const reached = vi.open >= TARGET_IDLE_SESSIONS;
  return {
    head: ['target', 'Voicegate', 'Dovecot', 'met'],
    rows: [
      [
        'throughput at least Dovecot’s (sessions/s)',
        fixed(v.perSecond),
        fixed(d.perSecond),
        yes(v.perSecond >= d.perSecond),
      ],
      [
        `p99 per command at most ${TARGET_P99_RATIO}× Dovecot’s (worst: ${STEP_NAMES[worst.step]})`,
        `${fixed(worst.ratio, 2)}×`,
        '1×',
        yes(worst.ratio <= TARGET_P99_RATIO),
      ],
      [
        `${TARGET_IDLE_SESSIONS} IDLE sessions within ${TARGET_IDLE_MIB} MiB (RSS)`,
        `${fixed(vi.idle.rssMiB)} MiB at ${vi.open}`,
        `${fixed(r.idle.dovecot.idle.rssMiB)} MiB (PSS ${fixed(r.idle.dovecot.idle.pssMiB)}) at ${r.idle.dovecot.open}`,
        reached ? yes(vi.idle.rssMiB <= TARGET_IDLE_MIB) : `NO (only ${vi.open} opened)`,
      ],
      [
        `deposit-to-EXISTS p99 under ${TARGET_EXISTS_P99_MS} ms (from the commit)`,
        `${fixed(vgExists)} ms`,
        `${fixed(dcExists)} ms`,
        yes(vgExists < TARGET_EXISTS_P99_MS),
      ],
    ],
  };
}

/** Where a Node server's CPU went: its one JavaScript thread, the libuv pool, the rest. */
function threadNote(run: SessionRun): string[] {
  const t = run.threadCpuMs;
  if (!t) return [];
  const per = (ms: number): string => fixed(ms / run.sessions);
  return [
    `Voicegate’s CPU per session by thread: main thread (all JavaScript, the event loop) ` +
      `${per(t.main)} ms, busy ${percent(t.main / (run.seconds * 1000))} of the wall time; ` +
      `libuv pool (scrypt, file reads) ${per(t.pool)} ms; other threads (V8 GC, compiler) ` +
      `${per(t.other)} ms.`,
  ];
}

function notes(r: Results): string[] {
  const h = r.hashes;
  const s = r.sessions;
  return [
    `Dovecot ${r.dovecot.version} (Debian's dovecot-imapd)` +
      (r.dovecot.actions.length
        ? `; the benchmark ${r.dovecot.actions.join(' and ')}`
        : '; already installed') +
      '. Own instance on 127.0.0.1 in a temp folder, config of shared/notes/perf-reliability.md: ' +
      'high-performance login (service_count = 0, process_min_avail = 2), Maildir, ' +
      'imap_hibernate_timeout = 5s, limits raised (imap process_limit 11000, imap-login and ' +
      'imap-hibernate client_limit 6000, mail_max_userip_connections 100000).',
    `Password hashes, same verify cost on both sides: sessions: Voicegate scrypt N=${h.sessions.scrypt.N},r=${h.sessions.scrypt.r},p=${h.sessions.scrypt.p} ` +
      `${fixed(h.sessions.scryptMs)} ms per verify, Dovecot {SHA512-CRYPT} rounds=${h.sessions.rounds} ` +
      `${fixed(h.sessions.verifyMs)} ms (libxcrypt, timed through perl). IDLE phase (login cost is ` +
      `phase 1's subject; this one measures memory and push): scrypt N=${h.idle.scrypt.N} ` +
      `${fixed(h.idle.scryptMs)} ms vs SHA512-CRYPT rounds=${h.idle.rounds} ${fixed(h.idle.verifyMs)} ms.`,
    `Mail: ${r.bounds.clients} mailboxes with ${r.messagesPerMailbox} one-minute voicemails each ` +
      `(toneWav 60 s, ${r.wavBytes} bytes of WAV, ${r.messageBytes} bytes as MIME), deposited through ` +
      'createContext before the server started, exported from Voicegate over IMAP (FETCH BODY.PEEK[] ' +
      'with FLAGS and INTERNALDATE) into Maildir files for Dovecot ' +
      `(${(r.exportedBytes / 1e6).toFixed(0)} MB in all).`,
    `Phase 1: ${r.bounds.clients} concurrent clients, each looping sessions of LOGIN, SELECT INBOX, ` +
      'FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE), FETCH 1 BODY[], LOGOUT on its own mailbox, one ' +
      'new connection per session. One untimed warm-up session per mailbox and server (indexes, ' +
      'renditions, \\Seen set), then the servers alternate in two halves of ' +
      `${r.bounds.seconds} s or ${Math.ceil(r.bounds.maxOps / 2)} sessions each (A-B-A-B), latencies pooled.`,
    'MB/s counts every byte received from the server (MB = 10^6). p50/p99 per command from its ' +
      'write to its tagged reply; connect = TCP connect to greeting. Server CPU from /proc ' +
      '(Dovecot: all its processes, including the per-session imap processes that exited). ' +
      'The CPU column is each party’s share of both cores over the run; "other work" is whatever ' +
      'else the machine ran meanwhile (/proc/stat busy time less the server’s and the generator’s): ' +
      'other work on a shared machine slow both servers alike.',
    ...threadNote(s.voicegate),
    ...(s.dovecot.authCpuMs !== undefined
      ? [
          `Dovecot’s auth service (it verifies the passwords) used ` +
            `${fixed(s.dovecot.authCpuMs / s.dovecot.sessions)} ms per session, ` +
            `${percent(s.dovecot.authCpuMs / (s.dovecot.seconds * 1000))} of one core.`,
        ]
      : []),
    'Load generator: a raw-socket client (test/bench/imap-client.ts) in a process of its own, ' +
      'sockets spread over 127.0.0.2-9; imapflow parses every response and would cost the ' +
      'generator more CPU than the servers.',
    `Phase 2: IDLE sessions (LOGIN, SELECT INBOX, IDLE) spread round robin over ` +
      `${r.idle.voicegate.mailboxes} empty mailboxes, opened ${r.bounds.idleBatch} at a time, each ` +
      'server on its own (Voicegate stopped before Dovecot’s turn). Memory read from /proc when ' +
      'all are idle (Dovecot: after its imap processes hibernated), summed over all processes of ' +
      'the server; PSS shares pages mapped by several processes among them. Then deposits one at ' +
      'a time, each into another mailbox spread over the list, each waking that mailbox’s ' +
      'sessions; EXISTS p50/p99 pool every session of every deposit. Deposits are 100-250 ms ' +
      'apart at random, so they fall at random points of Voicegate’s 100 ms change-feed poll. ' +
      '"missed": sessions that saw ' +
      'no EXISTS within the timeout; "lost": sessions the server disconnected.',
    'Deposit to EXISTS: Voicegate: a separate, already started process does what `voicegate ' +
      'deposit` does (createContext, MessageService.deposit); "from the commit" counts from when ' +
      'deposit() returned, "from start" from just before it began writing. Dovecot: `doveadm save` ' +
      'spawned by the benchmark ("from start" includes starting doveadm); its commit is when the ' +
      'file appeared in the Maildir (inotify). Clocks: performance.timeOrigin + now() in each process.',
    `Voicegate’s RSS after phase 1 was ${fixed(r.voicegateAfterSessions.rssMiB)} MiB and does not ` +
      'come back down when the sessions end; phase 2 runs on a freshly started Voicegate, so ' +
      '"RSS MiB before" is a server that has just started.',
    ...(r.voicegateNodeArgs.length
      ? [`Voicegate ran with extra node flags: ${r.voicegateNodeArgs.join(' ')}.`]
      : []),
    ...r.inotify.map((l) => `inotify: ${l}.`),
    ...(r.idle.voicegate.open < r.bounds.idleTarget
      ? [`Voicegate reached ${r.idle.voicegate.open} IDLE sessions: ${r.idle.voicegate.stoppedBy}.`]
      : []),
    ...(r.idle.dovecot.open < r.bounds.idleTarget
      ? [`Dovecot reached ${r.idle.dovecot.open} IDLE sessions: ${r.idle.dovecot.stoppedBy}.`]
      : []),
    ...(s.voicegate.failed || s.dovecot.failed
      ? [
          `Failed sessions: Voicegate ${s.voicegate.failed} (${s.voicegate.firstError ?? ''}), ` +
            `Dovecot ${s.dovecot.failed} (${s.dovecot.firstError ?? ''}).`,
        ]
      : []),
    ...(r.dovecot.problems.length
      ? [
          `Dovecot logged ${r.dovecot.problems.length} errors or warnings, e.g.: ` +
            r.dovecot.problems.slice(0, 3).join(' / '),
        ]
      : []),
  ];
}

/** Summaries of the raw figures, for the JSON part of the results file. */
function summary(r: Results): unknown {
  const sessionSummary = (run: SessionRun) => ({
    ...run,
    ...rate(run),
    latenciesMs: Object.fromEntries(Object.entries(run.latenciesMs).map(([k, v]) => [k, stats(v)])),
  });
  const idleSummary = (run: IdleRun) => ({
    ...run,
    fromCommitMs: stats(pooled(run, 'fromCommitMs')),
    fromStartMs: stats(pooled(run, 'fromStartMs')),
    rounds: run.rounds.map((x) => ({
      ...x,
      fromCommitMs: stats(x.fromCommitMs),
      fromStartMs: stats(x.fromStartMs),
    })),
  });
  return {
    ...r,
    dovecot: { ...r.dovecot, problems: r.dovecot.problems.slice(0, 20) },
    benchmark: 'imap',
    sessions: {
      voicegate: sessionSummary(r.sessions.voicegate),
      dovecot: sessionSummary(r.sessions.dovecot),
    },
    idle: { voicegate: idleSummary(r.idle.voicegate), dovecot: idleSummary(r.idle.dovecot) },
  };
}

export function report(r: Results): { text: string; markdown: string; json: unknown } {
  const sections: [string, Table][] = [
    [`Phase 1: ${r.bounds.clients} concurrent clients, full sessions`, sessionTable(r.sessions)],
    ['Per command', stepTable(r.sessions)],
    [`Phase 2: IDLE sessions on ${r.idle.voicegate.mailboxes} mailboxes`, idleTable(r.idle)],
    [
      'Deposits (times from the commit; first/last: the quickest and slowest session of each)',
      depositTable(r.idle),
    ],
    ['Targets', targetTable(r)],
  ];
  const lines = notes(r);
  const text = [
    ...sections.map(([title, table]) => `${title}:\n${textTable(table)}\n`),
    ...lines.map((l) => `- ${l}`),
  ].join('\n');
  const m = r.machine;
  const markdown = [
    '# IMAP benchmark: Voicegate and Dovecot',
    '',
    `${r.at}; Node ${m.node}, Linux ${m.kernel}, ${m.cpus}, ${m.memoryGiB} GiB; ` +
      '`npm run bench -- imap` (test/bench/imap.ts).',
    '',
    ...sections.flatMap(([title, table]) => [`## ${title}`, '', markdownTable(table), '']),
    ...lines.map((l) => `- ${l}`),
  ].join('\n');
  return { text, markdown, json: summary(r) };
}
