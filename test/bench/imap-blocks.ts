/**
 * Where slow greetings come from: Voicegate's event-loop blocks (loop-probe.ts) and garbage
 * collections during phase 1, the load generator's own blocks, and each greeting of 10 ms or
 * more matched with them and with the opening wave (the first session of every client: all 50
 * connect at the same moment, at the start of each half).
 */
import { fixed, percentile } from './bench-kit.ts';
import type { SessionRun } from './imap-results.ts';
import type { LoopBlock } from './loop-probe.ts';

const LIMITS = [10, 20, 40];

interface Span {
  at: number;
  ms: number;
}

const overlaps = (a: Span, b: Span): boolean => a.at < b.at + b.ms && b.at < a.at + a.ms;

/** A block as a span: from the tick before it to the late tick (lateness plus one tick). */
const blockSpan = (b: LoopBlock): Span => ({ at: b.at, ms: b.ms + 5 });

/** Blocks of at least each limit, per 1,000 sessions, with their total length. */
function perThousand(blocks: Span[], sessions: number): string {
  return LIMITS.map((limit) => {
    const over = blocks.filter((b) => b.ms >= limit);
    const total = over.reduce((s, b) => s + b.ms, 0);
    return `≥ ${limit} ms: ${fixed((over.length * 1000) / sessions)} (${fixed(total / 1000)} s in all)`;
  }).join(', ');
}

export interface BlockFigures {
  serverPerThousand: string;
  /** Of the server's blocks of 10 ms or more: the main thread's CPU over their length. */
  serverCpuShare: number;
  /** Of those blocks, how many overlap a collection, by kind. */
  withGc: Record<string, number>;
  generatorPerThousand: string;
  slowGreetings: number;
  opening: number;
  duringServerBlock: number;
  duringGeneratorBlock: number;
  /** Greetings p99 without the opening wave's. */
  steadyP99: number;
  openingP99: number;
}

export function blockFigures(run: SessionRun): BlockFigures | undefined {
  const loop = run.loop;
  if (!loop) return undefined;
  const blocks = loop.blocks.filter((b) => b.ms >= LIMITS[0]!);
  const blockMs = blocks.reduce((s, b) => s + b.ms, 0);
  const blockCpu = blocks.reduce((s, b) => s + b.cpuMs, 0);
  const withGc: Record<string, number> = {};
  for (const b of blocks) {
    const gc = loop.gc.filter((g) => overlaps(blockSpan(b), g) && g.ms >= 1);
    if (gc.length === 0) continue;
    const kind = gc.some((g) => g.kind === 'mark-compact') ? 'mark-compact' : gc[0]!.kind;
    withGc[kind] = (withGc[kind] ?? 0) + 1;
  }
  const slow = run.slowConnects;
  return {
    serverPerThousand: perThousand(loop.blocks, run.sessions),
    serverCpuShare: blockMs ? blockCpu / blockMs : 0,
    withGc,
    generatorPerThousand: perThousand(run.ownBlocks, run.sessions),
    slowGreetings: slow.length,
    opening: slow.filter((s) => s.opening).length,
    duringServerBlock: slow.filter((s) => blocks.some((b) => overlaps(s, blockSpan(b)))).length,
    duringGeneratorBlock: slow.filter((s) => run.ownBlocks.some((b) => overlaps(s, b))).length,
    steadyP99: steadyP99(run),
    openingP99: percentile(run.openingConnectMs, 99),
  };
}

/** The notes on phase 1's event-loop blocks and slow greetings, for both servers. */
export function blockNotes(s: { voicegate: SessionRun; dovecot: SessionRun }): string[] {
  const f = blockFigures(s.voicegate);
  if (!f) return [];
  const gc = Object.entries(f.withGc)
    .map(([kind, n]) => `${n} during a ${kind}`)
    .join(', ');
  const greetings = (name: string, run: SessionRun): string =>
    `${name}: p99 ${fixed(percentile(run.openingConnectMs, 99))} ms in the opening waves, ` +
    `${fixed(steadyP99(run))} ms after them`;
  return [
    `Voicegate’s event loop in phase 1 (test/bench/loop-probe.ts, a 5 ms timer’s lateness), ` +
      `blocks per 1,000 sessions: ${f.serverPerThousand}; over those of 10 ms or more the main ` +
      `thread ran ${percent(f.serverCpuShare)} of the time (the rest it waited: for a core, or ` +
      `in a system call)${gc ? `; ${gc}` : ''}. The load generator’s own loop, blocks per 1,000 ` +
      `sessions: ${f.generatorPerThousand}.`,
    `Greetings of 10 ms or more at Voicegate: ${f.slowGreetings}, of them ${f.opening} in the ` +
      `opening waves (each client’s first session: all ${s.voicegate.openingConnectMs.length / 2} ` +
      `connect at once, twice), ${f.duringServerBlock} during a block of the server’s loop, ` +
      `${f.duringGeneratorBlock} during one of the generator’s. Greetings, ` +
      `${greetings('Voicegate', s.voicegate)}; ${greetings('Dovecot', s.dovecot)}.`,
  ];
}

/** Greetings p99 without the opening waves'. */
function steadyP99(run: SessionRun): number {
  const steady = [...run.latenciesMs.connect];
  for (const ms of run.openingConnectMs) steady.splice(steady.indexOf(ms), 1);
  return percentile(steady, 99);
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}
