/**
 * Backup and restore throughput for a store of 10,000 voicemails (BACKUP_BENCH_MESSAGES), beside
 * `tar | gzip -1` and `tar -xz` of the same files in the same run; and the deposit latency of a
 * store while `voicegate backup create` runs in another process, beside without.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { createBackup } from '../../server/backup/archive.ts';
import { NO_PROGRESS } from '../../server/backup/progress.ts';
import { restoreBackup } from '../../server/backup/restore.ts';
import { backupSource, checkBackupCopy } from '../../server/compose/backup-source.ts';
import { loadConfig } from '../../server/config/load.ts';
import { createContext, type Context } from '../../server/context.ts';
import { createLogger } from '../../server/log.ts';
import { toneWav } from '../../server/media/tone.ts';
import {
  fixed,
  machine,
  markdownTable,
  percentile,
  textTable,
  writeResult,
  type Benchmark,
  type BenchOptions,
} from './bench-kit.ts';
import { BIN } from '../helpers/cli.ts';

const run = promisify(execFile);
const MESSAGES = Number(process.env.BACKUP_BENCH_MESSAGES ?? 10_000);
const SECONDS_PER_MESSAGE = 2;

async function fill(ctx: Context): Promise<void> {
  await ctx.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < MESSAGES) {
      const n = next++;
      await ctx.messages.deposit({
        mailbox: 'alice',
        audio: toneWav({ seconds: SECONDS_PER_MESSAGE, frequency: 300 + (n % 500) }),
        callerNumber: String(5_550_000 + n),
      });
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

/** Sequential deposits for `seconds` (or until `until` resolves): each one's latency in ms. */
async function depositLatencies(ctx: Context, opts: BenchOptions, until?: Promise<unknown>) {
  const wav = toneWav({ seconds: 5, frequency: 440 });
  const out: number[] = [];
  let done = false;
  const stop = (): void => void (done = true);
  until?.then(stop, stop);
  const stopAt = performance.now() + opts.seconds * 1000;
  // Alongside a backup: until it ends, however long it takes (the folder must outlive it).
  while (until ? !done : performance.now() < stopAt && out.length < opts.maxOps) {
    const t = performance.now();
    await ctx.messages.deposit({ mailbox: 'alice', audio: wav, callerNumber: '5551234' });
    out.push(performance.now() - t);
  }
  return out;
}

function latencySummary(ms: number[]): { n: number; p50: number; p99: number; max: number } {
  return { n: ms.length, p50: percentile(ms, 50), p99: percentile(ms, 99), max: Math.max(...ms) };
}

function backupProcess(configFile: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [BIN, '--config', configFile, 'backup', 'create', '--to', to],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`backup exited ${code}: ${err}`)),
    );
  });
}

const bench: Benchmark = {
  name: 'backup',
  title: `backup and restore of ${MESSAGES} voicemails beside tar; deposits during a backup`,
  async run(opts) {
    const root = mkdtempSync(join(tmpdir(), 'voicegate-bench-backup-'));
    try {
      const configFile = join(root, 'voicegate.yaml');
      writeFileSync(configFile, 'server:\n  dataDir: data\nlog:\n  level: silent\n');
      const loaded = loadConfig(configFile);
      const ctx = await createContext(loaded, createLogger('silent'));
      console.log(`filling the store with ${MESSAGES} voicemails of ${SECONDS_PER_MESSAGE} s...`);
      await fill(ctx);

      const archive = join(root, 'backup.tar.gz');
      const backupS = await timed(() => createBackup(backupSource(loaded), archive, NO_PROGRESS));
      const manifest = JSON.parse(
        (await run('tar', ['-xzOf', archive, 'voicegate-backup.json'], { maxBuffer: 1 << 30 }))
          .stdout,
      ) as { files: { size: number }[] };
      const dataMB = manifest.files.reduce((n, f) => n + f.size, 0) / 1e6;
      const tarFile = join(root, 'yardstick.tar.gz');
      const tarS = await timed(() =>
        run('sh', [
          '-c',
          `tar -C "${loaded.dataDir}" -cf - voicegate.db audio | gzip -1 > "${tarFile}"`,
        ]),
      );
      const restoreS = await timed(() =>
        restoreBackup(archive, join(root, 'restored'), {
          force: false,
          check: checkBackupCopy,
          progress: NO_PROGRESS,
        }),
      );
      const untarDir = join(root, 'untarred');
      const untarS = await timed(() =>
        run('sh', ['-c', `mkdir "${untarDir}" && tar -C "${untarDir}" -xzf "${tarFile}"`]),
      );

      console.log('deposit latency without a backup, then while one runs in another process...');
      const quiet = await depositLatencies(ctx, opts);
      const backingUp = backupProcess(configFile, join(root, 'during.tar.gz'));
      const during = await depositLatencies(ctx, opts, backingUp);
      await backingUp;
      await ctx.close();

      const mbs = (s: number): string => fixed(dataMB / s, 0);
      const throughput = {
        head: ['', 'Voicegate s', 'MB/s', 'tar s', 'tar MB/s', 'ratio'],
        rows: [
          [
            'backup (tar + gzip -1)',
            fixed(backupS, 1),
            mbs(backupS),
            fixed(tarS, 1),
            mbs(tarS),
            fixed(tarS / backupS, 2),
          ],
          [
            'restore (tar -xz)',
            fixed(restoreS, 1),
            mbs(restoreS),
            fixed(untarS, 1),
            mbs(untarS),
            fixed(untarS / restoreS, 2),
          ],
        ],
      };
      const p = (v: number[], q: number): string => fixed(percentile(v, q), 1);
      const latency = {
        head: ['deposits of 5 s', 'n', 'p50 ms', 'p99 ms'],
        rows: [
          ['without a backup', String(quiet.length), p(quiet, 50), p(quiet, 99)],
          ['while a backup runs', String(during.length), p(during, 50), p(during, 99)],
        ],
      };
      console.log(
        `${MESSAGES} voicemails, ${fixed(dataMB, 0)} MB (archive ${fixed(statSync(archive).size / 1e6, 0)} MB)`,
      );
      console.log(textTable(throughput));
      console.log(textTable(latency));
      const file = writeResult(
        'backup',
        `# Backup and restore\n\n${MESSAGES} voicemails, ${fixed(dataMB, 0)} MB.\n\n${markdownTable(throughput)}\n\n${markdownTable(latency)}\n`,
        {
          benchmark: 'backup',
          at: new Date().toISOString(),
          machine: machine(),
          messages: MESSAGES,
          dataMB,
          backupS,
          tarS,
          restoreS,
          untarS,
          // Latencies as their summary: thousands of raw figures would drown the file.
          quiet: latencySummary(quiet),
          during: latencySummary(during),
        },
      );
      console.log(`wrote ${file}`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};
export default bench;
