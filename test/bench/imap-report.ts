/**
 * The IMAP benchmark's tables and targets (terminal and Markdown), and the figures kept in
 * results/imap.md: summaries only, not the raw latencies of 10,000 sessions.
 */
import { fixed, markdownTable, mean, percentile, textTable, type Table } from './bench-kit.ts';
import type { Step } from './imap-load-worker.ts';
import { blockFigures } from './imap-blocks.ts';
import { notes } from './imap-notes.ts';
import {
  percent,
  pooled,
  rate,
  stats,
  STEP_NAMES,
  TARGET_EXISTS_P99_MS,
  TARGET_IDLE_MIB,
  TARGET_IDLE_SESSIONS,
  TARGET_P99_RATIO,
  type IdleRun,
  type Results,
  type Servers,
  type SessionRun,
} from './imap-results.ts';

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

/** Summaries of the raw figures, for the JSON part of the results file. */
function summary(r: Results): unknown {
  const sessionSummary = (full: SessionRun) => {
    // The raw lists are summed up below; the generator's own blocks are in loop's figures.
    const { slowConnects, ownBlocks: _ownBlocks, openingConnectMs, loop, ...run } = full;
    return {
      ...run,
      ...rate(full),
      latenciesMs: Object.fromEntries(
        Object.entries(run.latenciesMs).map(([k, v]) => [k, stats(v)]),
      ),
      openingConnectMs: stats(openingConnectMs),
      slowConnects: slowConnects.length,
      ...(loop
        ? {
            loop: {
              ...blockFigures(full),
              // Blocks of 20 ms or more, each as "ms/main-thread CPU ms".
              blocksOver20Ms: loop.blocks
                .filter((b) => b.ms >= 20)
                .map((b) => `${Math.round(b.ms)}/${Math.round(b.cpuMs)}`)
                .join(' '),
            },
          }
        : {}),
    };
  };
  const idleSummary = ({ rounds, ...run }: IdleRun) => {
    const seen = rounds.filter((x) => x.fromCommitMs.length > 0);
    return {
      ...run,
      fromCommitMs: stats(rounds.flatMap((x) => x.fromCommitMs)),
      fromStartMs: stats(rounds.flatMap((x) => x.fromStartMs)),
      deposits: {
        count: rounds.length,
        sessionsPerDeposit: mean(rounds.map((x) => x.fromCommitMs.length + x.missing + x.lost)),
        startToCommitMs: stats(rounds.map((x) => x.committedAt - x.startedAt)),
        firstExistsMs: stats(seen.map((x) => Math.min(...x.fromCommitMs))),
        lastExistsMs: stats(seen.map((x) => Math.max(...x.fromCommitMs))),
        serverCpuMsPerDeposit: mean(rounds.map((x) => x.serverCpuMs)),
        missed: rounds.reduce((n, x) => n + x.missing, 0),
        lost: rounds.reduce((n, x) => n + x.lost, 0),
      },
    };
  };
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
