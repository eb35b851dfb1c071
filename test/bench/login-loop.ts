/**
 * How long a log-in holds the event loop, beside the CPU it uses there: 50 concurrent
 * `authenticate` calls (the IMAP LOGIN's domain call) on a store on disk, in this process, a few
 * rounds. Time the loop is busy without CPU is time it waited in a system call (an fsync) or for
 * a core. The yardstick, on the same filesystem: one small SQLite commit with synchronous=FULL
 * (its fsync of the WAL, which a store write on the main thread waits for) and with NORMAL.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DatabaseSync } from 'node:sqlite';
import { loadConfig } from '../../server/config/load.ts';
import { createContext } from '../../server/context.ts';
import { createLogger } from '../../server/log.ts';
import {
  describeFilesystem,
  filesystemOf,
  fixed,
  machine,
  markdownTable,
  percentile,
  textTable,
  writeResult,
  type Benchmark,
  type Table,
} from './bench-kit.ts';
import { prepareStore } from './imap-voicegate.ts';

const LOGINS = 50;
const ROUNDS = 5;
const CODE = '13572468';
const COMMITS = 200;

const benchmark: Benchmark = {
  name: 'login-loop',
  title: 'How long a log-in holds the event loop, beside its CPU there and an fsync',
  run,
};
export default benchmark;

const threadCpuMs = (): number => {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
};

/** Wall time of one small commit, p50 and p99, with the given synchronous mode. */
function commitMs(dir: string, mode: 'FULL' | 'NORMAL'): { p50: number; p99: number } {
  const db = new DatabaseSync(join(dir, `commits-${mode}.db`));
  try {
    db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${mode}; CREATE TABLE t (v TEXT)`);
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    const times: number[] = [];
    for (let i = 0; i < COMMITS; i++) {
      const t0 = performance.now();
      db.exec('BEGIN IMMEDIATE');
      insert.run('x'.repeat(200));
      db.exec('COMMIT');
      times.push(performance.now() - t0);
    }
    return { p50: percentile(times, 50), p99: percentile(times, 99) };
  } finally {
    db.close();
  }
}

async function run(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'voicegate-bench-login-'));
  try {
    const users = Array.from({ length: LOGINS }, (_, i) => `login${i + 1}`);
    const storeDir = join(root, 'store');
    mkdirSync(storeDir);
    console.log(`preparing ${LOGINS} mailboxes ...`);
    const configFile = await prepareStore(
      storeDir,
      users.map((name) => ({ name, code: CODE, messages: 0 })),
      new Uint8Array(0),
    );
    const ctx = await createContext(loadConfig(configFile), createLogger('silent'));
    const rounds: { busyMs: number; cpuMs: number; wallMs: number }[] = [];
    try {
      for (let r = 0; r <= ROUNDS; r++) {
        const cpu0 = threadCpuMs();
        const elu0 = performance.eventLoopUtilization();
        const t0 = performance.now();
        await Promise.all(
          users.map((name, i) =>
            ctx.mailboxes.authenticate(name, CODE, {
              channel: 'imap',
              remote: `127.0.0.${2 + (i % 8)}`,
              requireUms: true,
            }),
          ),
        );
        // Round 0 warms the code and the hashing threads up.
        if (r === 0) continue;
        rounds.push({
          busyMs: performance.eventLoopUtilization(elu0).active / LOGINS,
          cpuMs: (threadCpuMs() - cpu0) / LOGINS,
          wallMs: performance.now() - t0,
        });
      }
    } finally {
      await ctx.close();
    }
    const full = commitMs(root, 'FULL');
    const normal = commitMs(root, 'NORMAL');
    const busy = rounds.map((x) => x.busyMs);
    const cpu = rounds.map((x) => x.cpuMs);
    const table: Table = {
      head: ['measure', 'p50 ms', 'max ms'],
      rows: [
        ['event loop busy per log-in', fixed(percentile(busy, 50), 2), fixed(Math.max(...busy), 2)],
        ['main-thread CPU per log-in', fixed(percentile(cpu, 50), 2), fixed(Math.max(...cpu), 2)],
        ['one commit, synchronous=FULL (p50, p99)', fixed(full.p50, 2), fixed(full.p99, 2)],
        ['one commit, synchronous=NORMAL (p50, p99)', fixed(normal.p50, 2), fixed(normal.p99, 2)],
      ],
    };
    const load = loadavg().map((l) => l.toFixed(1));
    const fs = describeFilesystem(filesystemOf(root));
    const note =
      `${LOGINS} concurrent log-ins, ${ROUNDS} rounds after one to warm up, on ${fs}; ` +
      `load average ${load.join(' ')}. Busy time beyond the CPU is the loop waiting (an fsync, a core).`;
    console.log(`\n${textTable(table)}\n- ${note}`);
    const m = machine();
    const markdown = [
      '# How long a log-in holds the event loop',
      '',
      `${new Date().toISOString()}; Node ${m.node}, Linux ${m.kernel}, ${m.cpus}; ` +
        '`npm run bench -- login-loop` (test/bench/login-loop.ts).',
      '',
      markdownTable(table),
      '',
      `- ${note}`,
    ].join('\n');
    console.log(
      `\nwritten: ${writeResult('login-loop', markdown, { rounds, full, normal, load })}`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
