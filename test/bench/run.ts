/**
 * `npm run bench [-- NAME... --seconds S --max-ops N]`: runs the benchmarks one after another
 * (never in parallel: they measure the same disk and CPUs). A new benchmark is a module whose
 * default export is a Benchmark, added to BENCHMARKS below.
 */
import { parseArgs } from 'node:util';
import type { Benchmark, BenchOptions } from './bench-kit.ts';

const BENCHMARKS: Record<string, () => Promise<{ default: Benchmark }>> = {
  backup: () => import('./backup.ts'),
  deposit: () => import('./deposit.ts'),
  imap: () => import('./imap.ts'),
  'imap-memory': () => import('./imap-memory.ts'),
  'login-loop': () => import('./login-loop.ts'),
  'greeting-wave': () => import('./greeting-wave.ts'),
  sip: () => import('./sip.ts'),
  smtp: () => import('./smtp.ts'),
  'smtp-data': () => import('./smtp-data.ts'),
  web: () => import('./web.ts'),
  'web-list': () => import('./web-list.ts'),
  'deposit-pg': () => import('./deposit-pg.ts'),
  'nodes-pg': () => import('./nodes-pg.ts'),
  exchange: () => import('./exchange.ts'),
  peers: () => import('./peers.ts'),
};

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '5' },
    'max-ops': { type: 'string', default: '1000' },
  },
});
const opts: BenchOptions = { seconds: Number(values.seconds), maxOps: Number(values['max-ops']) };
if (!(opts.seconds > 0) || !(opts.maxOps > 0)) {
  console.error('--seconds and --max-ops must be positive numbers');
  process.exit(2);
}
const unknown = positionals.filter((name) => !(name in BENCHMARKS));
if (unknown.length > 0) {
  console.error(
    `unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`,
  );
  process.exit(2);
}

let failed = 0;
for (const name of positionals.length > 0 ? positionals : Object.keys(BENCHMARKS)) {
  const { default: bench } = await BENCHMARKS[name]!();
  console.log(`\n== ${bench.name}: ${bench.title}\n`);
  const started = performance.now();
  try {
    await bench.run(opts);
    console.log(`\n${bench.name} took ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    failed++;
    console.error(`${bench.name} failed:`, err);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
