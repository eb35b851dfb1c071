/**
 * Several nodes on PostgreSQL, each figure beside its yardstick in the same run:
 * - IMAP sessions per second against one and two `voicegate serve` processes on one PostgreSQL
 *   database, beside one process on the embedded SQLite store;
 * - a deposit on node B until an IMAP IDLE session on node A hears EXISTS, beside one SQLite
 *   node where the deposit and the session are on the same node;
 * - what a synchronous standby costs a deposit (beside the same primary without it), and the
 *   time the loss of the primary costs until deposits succeed again (`pg_ctl promote` included),
 *   beside the time a restart of PostgreSQL costs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ImapFlow } from 'imapflow';
import { loadConfig } from '../../server/config/load.ts';
import { createContext, type Context } from '../../server/context.ts';
import { createLogger } from '../../server/log.ts';
import { toneWav } from '../../server/media/tone.ts';
import { runCli } from '../helpers/cli.ts';
import { startPgCluster, startPgStandby, type PgCluster } from '../helpers/postgres.ts';
import { serveProcess, type ServeProcess } from '../helpers/serve-process.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import {
  BENCH_LIMITS,
  fixed,
  machine,
  markdownTable,
  percentile,
  writeResult,
  type BenchOptions,
  type Benchmark,
} from './bench-kit.ts';
import { quote, RawImap } from './imap-client.ts';

const CONCURRENCY = 8;
const EXISTS_SAMPLES = 100;
const CODE = '13572468';

const benchmark: Benchmark = {
  name: 'nodes-pg',
  title: 'Several nodes on PostgreSQL: IMAP sessions, B-to-A EXISTS, the cost of a failover',
  run,
};
export default benchmark;

const pgStore = (url: string) => [`store.backend=postgresql`, `store.url=${url}`];

/** A node's folder (`voicegate init`). */
async function nodeDir(root: string): Promise<string> {
  const dir = mkdtempSync(join(root, 'node-'));
  const init = await runCli(['init', '--dir', dir]);
  if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
  return dir;
}

/** Mailbox `bench` with 10 voicemails, in the store `configFile` and `store` name. */
async function seed(configFile: string, store: string[]): Promise<void> {
  const ctx = await createContext(
    loadConfig(configFile, [...store, 'log.level=silent']),
    createLogger('silent'),
  );
  try {
    await ctx.mailboxes.add({ name: 'bench', extension: '201' }, CODE);
    for (let i = 0; i < 10; i++)
      await ctx.messages.deposit({ mailbox: 'bench', audio: toneWav({ seconds: 2 }) });
  } finally {
    await ctx.close();
  }
}

/** Sessions (connect, LOGIN, SELECT, FETCH 1:* FLAGS, LOGOUT) per second, spread over `ports`. */
async function sessions(
  ports: number[],
  opts: BenchOptions,
): Promise<{ perSecond: number; p50: number; p99: number; failed: number }> {
  const latencies: number[] = [];
  let started = 0;
  let failed = 0;
  const t0 = performance.now();
  const deadline = t0 + opts.seconds * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline && started < opts.maxOps) {
        const port = ports[started++ % ports.length]!;
        const s0 = performance.now();
        let imap: RawImap | undefined;
        try {
          imap = await RawImap.open({ host: '127.0.0.1', port });
          await imap.command(`LOGIN ${quote('bench')} ${quote(CODE)}`);
          await imap.command('SELECT INBOX');
          await imap.command('FETCH 1:* (FLAGS)');
          await imap.logout();
          latencies.push(performance.now() - s0);
        } catch {
          failed++;
        } finally {
          imap?.destroy();
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return {
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    failed,
  };
}

/** Deposits on `b`, one at a time, until an IDLE session on `a` hears EXISTS: p50, p99 in ms. */
async function existsLatency(a: TestServer, b: TestServer): Promise<{ p50: number; p99: number }> {
  const name = `idle${Math.random().toString(36).slice(2, 8)}`;
  await b.context.mailboxes.add({ name }, CODE);
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: a.ports.imap,
    secure: false,
    tls: { rejectUnauthorized: false }, // the node's self-signed certificate, for STARTTLS
    auth: { user: name, pass: CODE },
    logger: false,
  });
  await client.connect();
  const audio = toneWav({ seconds: 1 });
  const times: number[] = [];
  try {
    await client.mailboxOpen('INBOX');
    let heard: ((count: number) => void) | null = null;
    client.on('exists', (d: { count: number }) => heard?.(d.count));
    for (let i = 0; i < EXISTS_SAMPLES; i++) {
      const arrived = new Promise<number>((resolve) => (heard = resolve));
      const t0 = performance.now();
      await b.context.messages.deposit({ mailbox: name, audio, callerNumber: '5550100' });
      await arrived;
      times.push(performance.now() - t0);
    }
  } finally {
    await client.logout().catch(() => {});
  }
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/** Deposits per second from 4 depositors on `nodes`, for `seconds`. */
async function depositRate(nodes: Context[], seconds: number): Promise<number> {
  const audio = toneWav({ seconds: 30 });
  let done = 0;
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async (_, i) => {
      while (performance.now() < deadline) {
        await nodes[i % nodes.length]!.messages.deposit({ mailbox: 'bench', audio });
        done++;
      }
    }),
  );
  return done / ((performance.now() - t0) / 1000);
}

/** Deposits in a loop while `cut` runs; ms from the start of `cut` to the first success after it. */
async function timeToServe(node: Context, cut: () => Promise<void>): Promise<number> {
  const audio = toneWav({ seconds: 1 });
  let cutAt = 0;
  let cutDone = false;
  let servedAt = 0;
  const writer = (async () => {
    while (!servedAt) {
      try {
        await node.messages.deposit({ mailbox: 'bench', audio });
        if (cutDone) servedAt = performance.now();
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  })();
  await new Promise((r) => setTimeout(r, 500));
  cutAt = performance.now();
  await cut();
  cutDone = true;
  await writer;
  return servedAt - cutAt;
}

async function contextOn(root: string, url: string): Promise<Context> {
  const file = join(mkdtempSync(join(root, 'ctx-')), 'voicegate.yaml');
  writeFileSync(file, 'server:\n  dataDir: data\nlog:\n  level: silent\n');
  return createContext(loadConfig(file, pgStore(url)), createLogger('silent'));
}

async function run(opts: BenchOptions): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'voicegate-bench-nodes-'));
  const clusters: PgCluster[] = [];
  const processes: ServeProcess[] = [];
  const servers: TestServer[] = [];
  const serve = async (store: string[], seedIt: boolean): Promise<ServeProcess> => {
    const dir = await nodeDir(root);
    const file = join(dir, 'voicegate.yaml');
    if (seedIt) await seed(file, store);
    const p = await serveProcess(file, [...store, 'imap.allowPlaintextAuth=true', ...BENCH_LIMITS]);
    processes.push(p);
    return p;
  };
  try {
    const primary = await startPgCluster();
    clusters.push(primary);

    // IMAP sessions per second.
    const sqliteNode = await serve([], true);
    const sqliteRate = await sessions([sqliteNode.ports.imap], opts);
    await sqliteNode.stop();
    const url = await primary.createDatabase();
    const a = await serve(pgStore(url), true);
    const oneRate = await sessions([a.ports.imap], opts);
    const b = await serve(pgStore(url), false);
    const twoRate = await sessions([a.ports.imap, b.ports.imap], opts);
    await Promise.all([a.stop(), b.stop()]);
    console.log(
      `  IMAP sessions/s: SQLite ${fixed(sqliteRate.perSecond)}, PostgreSQL one node ${fixed(oneRate.perSecond)}, two nodes ${fixed(twoRate.perSecond)}`,
    );

    // Deposit on B to EXISTS on A.
    const plain = ['imap.allowPlaintextAuth=true'];
    const single = await startTestServer(plain);
    servers.push(single);
    const existsSqlite = await existsLatency(single, single);
    const existsUrl = await primary.createDatabase();
    const nodeA = await startTestServer([...plain, ...pgStore(existsUrl)]);
    const nodeB = await startTestServer([...plain, ...pgStore(existsUrl)]);
    servers.push(nodeA, nodeB);
    const existsPg = await existsLatency(nodeA, nodeB);
    console.log(
      `  deposit to EXISTS p50/p99 ms: SQLite one node ${fixed(existsSqlite.p50)}/${fixed(existsSqlite.p99)}, PostgreSQL B→A ${fixed(existsPg.p50)}/${fixed(existsPg.p99)}`,
    );

    // A synchronous standby: what it costs a deposit, and what losing the primary costs.
    const dbUrl = await primary.createDatabase();
    const db = new URL(dbUrl).pathname.slice(1);
    const standby = await startPgStandby(primary, { synchronous: true });
    clusters.push(standby);
    const both = `postgresql://postgres@127.0.0.1:${primary.port},127.0.0.1:${standby.port}/${db}?target_session_attrs=read-write`;
    const node = await contextOn(root, both);
    let syncRate = 0;
    let asyncRate = 0;
    let failoverMs = 0;
    let restartMs = 0;
    try {
      await node.mailboxes.add({ name: 'bench', extension: '201' }, CODE);
      const seconds = Math.min(opts.seconds, 10);
      syncRate = await depositRate([node], seconds);
      await primary.query("ALTER SYSTEM SET synchronous_standby_names = ''");
      await primary.query('SELECT pg_reload_conf()');
      asyncRate = await depositRate([node], seconds);
      await primary.query("ALTER SYSTEM SET synchronous_standby_names = '*'");
      await primary.query('SELECT pg_reload_conf()');
      failoverMs = await timeToServe(node, async () => {
        await primary.stopServer('immediate');
        await standby.promote();
      });
      restartMs = await timeToServe(node, async () => {
        await standby.stopServer('fast');
        await standby.startServer();
      });
    } finally {
      await node.close();
    }
    console.log(
      `  deposits/s (4 depositors, 30 s voicemails): synchronous standby ${fixed(syncRate)}, none ${fixed(asyncRate)}; failover ${fixed(failoverMs, 0)} ms, restart ${fixed(restartMs, 0)} ms`,
    );

    const table = {
      head: ['measure', 'yardstick', 'value', 'ratio'],
      rows: [
        [
          `IMAP sessions/s (${CONCURRENCY} clients), 1 PostgreSQL node`,
          `SQLite node ${fixed(sqliteRate.perSecond)}/s`,
          `${fixed(oneRate.perSecond)}/s`,
          fixed(oneRate.perSecond / sqliteRate.perSecond, 2),
        ],
        [
          `IMAP sessions/s (${CONCURRENCY} clients), 2 PostgreSQL nodes`,
          `SQLite node ${fixed(sqliteRate.perSecond)}/s`,
          `${fixed(twoRate.perSecond)}/s`,
          fixed(twoRate.perSecond / sqliteRate.perSecond, 2),
        ],
        [
          'deposit on B to EXISTS on A, p50 / p99',
          `one SQLite node ${fixed(existsSqlite.p50)} / ${fixed(existsSqlite.p99)} ms`,
          `${fixed(existsPg.p50)} / ${fixed(existsPg.p99)} ms`,
          `${fixed(existsPg.p50 / existsSqlite.p50, 2)} / ${fixed(existsPg.p99 / existsSqlite.p99, 2)}`,
        ],
        [
          'deposits/s with a synchronous standby (4 depositors)',
          `no standby ${fixed(asyncRate)}/s`,
          `${fixed(syncRate)}/s`,
          fixed(syncRate / asyncRate, 2),
        ],
        [
          'primary lost to deposits served (crash, promote)',
          `PostgreSQL restart ${fixed(restartMs, 0)} ms`,
          `${fixed(failoverMs, 0)} ms`,
          fixed(failoverMs / restartMs, 2),
        ],
      ],
    };
    const notes = [
      `IMAP: ${CONCURRENCY} clients for ${opts.seconds} s (or ${opts.maxOps} sessions), each session connect, LOGIN, SELECT INBOX (10 voicemails), FETCH 1:* (FLAGS), LOGOUT on plain IMAP over loopback; nodes are \`voicegate serve\` processes, sessions alternating between them.`,
      `EXISTS: a 1 s voicemail deposited on node B (in-process), ${EXISTS_SAMPLES} one at a time, until node A's IDLE session (imapflow) hears EXISTS; deposit included.`,
      'Failover: a primary and a streaming standby (pg_basebackup) on the same disk, synchronous_commit on; the primary stopped with -m immediate, then `pg_ctl promote`; the node is given both hosts and finds the new primary itself. Restart: pg_ctl stop -m fast, then start.',
    ];
    console.log(`\n${markdownTable(table)}\n`);
    const m = machine();
    const file = writeResult(
      'nodes-pg',
      [
        '# Several nodes on PostgreSQL',
        '',
        `${new Date().toISOString()}; Node ${m.node}, Linux ${m.kernel}, ${m.cpus}, ${m.memoryGiB} GiB; \`npm run bench -- nodes-pg\`.`,
        '',
        markdownTable(table),
        '',
        ...notes.map((l) => `- ${l}`),
      ].join('\n'),
      {
        benchmark: 'nodes-pg',
        at: new Date().toISOString(),
        machine: m,
        bounds: opts,
        imap: { sqlite: sqliteRate, one: oneRate, two: twoRate },
        exists: { sqlite: existsSqlite, pg: existsPg },
        deposits: { synchronous: syncRate, none: asyncRate },
        failoverMs,
        restartMs,
      },
    );
    console.log(`written: ${file}`);
  } finally {
    for (const p of processes) await p.stop().catch(() => {});
    for (const s of servers) await s.stop().catch(() => {});
    for (const c of clusters) await c.stop();
    rmSync(root, { recursive: true, force: true });
  }
}
