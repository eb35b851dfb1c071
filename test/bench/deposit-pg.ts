/**
 * Durable deposits of 30-second voicemails per second on the PostgreSQL store (one node, and two
 * nodes sharing the database), beside the embedded SQLite store in the same run, at 1, 4 and 16
 * depositors; and the time from a deposit on node B to node A's change feed waking for it.
 * PostgreSQL runs with its defaults (fsync, synchronous_commit on) in a cluster of its own on
 * the same disk (test/helpers/postgres.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../../server/config/load.ts';
import { createContext, type Context } from '../../server/context.ts';
import { createLogger } from '../../server/log.ts';
import { toneWav } from '../../server/media/tone.ts';
import { startPgCluster, type PgCluster } from '../helpers/postgres.ts';
import {
  fixed,
  machine,
  markdownTable,
  percentile,
  summarize,
  textTable,
  writeResult,
  type BenchOptions,
  type Benchmark,
  type Rate,
  type Table,
} from './bench-kit.ts';

const LEVELS = [1, 4, 16] as const;
const FEED_SAMPLES = 200;

const benchmark: Benchmark = {
  name: 'deposit-pg',
  title: 'Durable deposits on PostgreSQL (one and two nodes) beside SQLite, and B-to-A wake-ups',
  run,
};
export default benchmark;

async function contextOn(dir: string, store: string): Promise<Context> {
  const configFile = join(dir, `voicegate-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(configFile, `server:\n  dataDir: data\n${store}log:\n  level: silent\n`);
  return createContext(loadConfig(configFile), createLogger('silent'));
}

/** `depositors` concurrent depositors, each on its own mailbox, spread over the nodes. */
async function measure(
  nodes: Context[],
  depositors: number,
  audio: Uint8Array,
  opts: BenchOptions,
): Promise<Rate> {
  for (let i = 0; i < depositors; i++)
    await nodes[0]!.mailboxes.add({ name: `bench${i}`, extension: String(200 + i) }, '13572468');
  const deposit = (i: number) =>
    nodes[i % nodes.length]!.messages.deposit({
      mailbox: `bench${i}`,
      audio,
      callerNumber: '+15550100',
      callerName: 'Bench',
    });
  for (let i = 0; i < depositors; i++) await deposit(i); // warm-up, untimed
  const latencies: number[] = [];
  let claimed = 0;
  const start = performance.now();
  const deadline = start + opts.seconds * 1000;
  await Promise.all(
    Array.from({ length: depositors }, async (_, i) => {
      while (performance.now() < deadline && claimed++ < opts.maxOps) {
        const t0 = performance.now();
        await deposit(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return summarize([{ ops: latencies.length, seconds, latenciesMs: latencies }], audio.byteLength);
}

/** Deposit on B, one at a time, until A's feed wakes for it: p50 and p99 in ms. */
async function feedLatency(
  a: Context,
  b: Context,
  audio: Uint8Array,
): Promise<{ p50: number; p99: number }> {
  const box = await b.mailboxes.add({ name: 'feed', extension: '999' }, '13572468');
  let waiting: { modseq: number; resolve: () => void } | null = null;
  const stop = a.store.feed.subscribe((id, modseq) => {
    if (id === box.id && waiting && modseq >= waiting.modseq) waiting.resolve();
  });
  const times: number[] = [];
  try {
    for (let i = 0; i < FEED_SAMPLES; i++) {
      const expected = (await b.store.highestModseq(box.id)) + 1;
      const woke = new Promise<void>((resolve) => (waiting = { modseq: expected, resolve }));
      const t0 = performance.now();
      await b.messages.deposit({ mailbox: 'feed', audio, callerNumber: '1', callerName: 'B' });
      await woke;
      times.push(performance.now() - t0);
    }
  } finally {
    stop();
  }
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

interface Row {
  depositors: number;
  sqlite: Rate;
  pgOne: Rate;
  pgTwo: Rate;
}

function table(rows: Row[]): Table {
  return {
    head: [
      'depositors',
      'SQLite/s',
      'PG 1 node/s',
      'PG 2 nodes/s',
      'PG1 ÷ SQLite',
      'PG2 ÷ SQLite',
      'SQLite p50/p99 ms',
      'PG1 p50/p99 ms',
      'PG2 p50/p99 ms',
    ],
    rows: rows.map((r) => [
      String(r.depositors),
      fixed(r.sqlite.opsPerSecond),
      fixed(r.pgOne.opsPerSecond),
      fixed(r.pgTwo.opsPerSecond),
      fixed(r.pgOne.opsPerSecond / r.sqlite.opsPerSecond, 2),
      fixed(r.pgTwo.opsPerSecond / r.sqlite.opsPerSecond, 2),
      `${fixed(r.sqlite.p50Ms)}/${fixed(r.sqlite.p99Ms)}`,
      `${fixed(r.pgOne.p50Ms)}/${fixed(r.pgOne.p99Ms)}`,
      `${fixed(r.pgTwo.p50Ms)}/${fixed(r.pgTwo.p99Ms)}`,
    ]),
  };
}

async function run(opts: BenchOptions): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'voicegate-bench-pg-'));
  let cluster: PgCluster | undefined;
  try {
    cluster = await startPgCluster();
    const audio = toneWav({ seconds: 30 });
    const rows: Row[] = [];
    for (const n of LEVELS) {
      const sqliteDir = mkdtempSync(join(root, 'sqlite-'));
      const sqlite = await contextOn(sqliteDir, '');
      const sqliteRate = await measure([sqlite], n, audio, opts).finally(() => sqlite.close());
      const pg = (url: string) => contextOn(root, `store:\n  backend: postgresql\n  url: ${url}\n`);
      const one = await pg(await cluster.createDatabase());
      const pgOne = await measure([one], n, audio, opts).finally(() => one.close());
      const url = await cluster.createDatabase();
      const two = [await pg(url), await pg(url)];
      const pgTwo = await measure(two, n, audio, opts).finally(() =>
        Promise.all(two.map((c) => c.close())),
      );
      rows.push({ depositors: n, sqlite: sqliteRate, pgOne, pgTwo });
      console.log(
        `  ${n} depositor(s): SQLite ${fixed(sqliteRate.opsPerSecond)}/s, PostgreSQL one node ${fixed(pgOne.opsPerSecond)}/s, two nodes ${fixed(pgTwo.opsPerSecond)}/s`,
      );
    }
    const url = await cluster.createDatabase();
    const a = await contextOn(root, `store:\n  backend: postgresql\n  url: ${url}\n`);
    const b = await contextOn(root, `store:\n  backend: postgresql\n  url: ${url}\n`);
    const feed = await feedLatency(a, b, toneWav({ seconds: 1 })).finally(async () => {
      await a.close();
      await b.close();
    });
    const notes = [
      `Message: ${audio.byteLength} bytes (toneWav 30 s); each step ${opts.seconds} s or ${opts.maxOps} deposits, after one untimed deposit per depositor.`,
      'SQLite: the embedded store (WAL, synchronous=FULL, audio files written atomically) on the same disk, in the same run: the yardstick.',
      'PostgreSQL 15 (Debian), default settings (fsync, synchronous_commit on), on 127.0.0.1; audio in the database (bytea). "2 nodes": two contexts, each with its own pool and change feed, sharing one database, the depositors alternating between them, in one Node process.',
      `Wake-up B→A: a 1-second voicemail deposited on node B until node A's change feed wakes for it (NOTIFY), ${FEED_SAMPLES} in a row: p50 ${fixed(feed.p50)} ms, p99 ${fixed(feed.p99)} ms (deposit included).`,
    ];
    console.log(`\n${textTable(table(rows))}\n`);
    for (const line of notes) console.log(`- ${line}`);
    const m = machine();
    const file = writeResult(
      'deposit-pg',
      [
        '# Deposits on PostgreSQL beside SQLite',
        '',
        `${new Date().toISOString()}; Node ${m.node}, Linux ${m.kernel}, ${m.cpus}, ${m.memoryGiB} GiB; \`npm run bench -- deposit-pg\`.`,
        '',
        markdownTable(table(rows)),
        '',
        ...notes.map((l) => `- ${l}`),
      ].join('\n'),
      {
        benchmark: 'deposit-pg',
        at: new Date().toISOString(),
        machine: m,
        bounds: opts,
        rows,
        feed,
      },
    );
    console.log(`\nwritten: ${file}`);
  } finally {
    await cluster?.stop();
    rmSync(root, { recursive: true, force: true });
  }
}
