// Scheduled backups as the server runs them: to a folder and to a real OpenSSH server over SFTP,
// each keeping the newest N, every one a backup that verifies.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unpackBackup } from '../../server/backup/archive.ts';
import { folderDestination, sftpDestination } from '../../server/backup/destinations.ts';
import { NO_PROGRESS } from '../../server/backup/progress.ts';
import { BackupScheduler } from '../../server/backup/scheduler.ts';
import { backupSource, checkBackupCopy } from '../../server/compose/backup-source.ts';
import { loadConfig, type LoadedConfig } from '../../server/config/load.ts';
import { createLogger } from '../../server/log.ts';
import { toneWav } from '../../server/media/tone.ts';
import { buildServer, type RunningServer } from '../../server/server.ts';
import { startSshd, type Sshd } from '../helpers/sshd.ts';

let root: string;
let sshd: Sshd;
let server: RunningServer;
let loaded: LoadedConfig;
let scheduler: BackupScheduler;
const folder = () => join(root, 'backups');
const remote = () => join(sshd.home, 'voicegate');

const day = (n: number): number => Date.parse(`2026-01-0${n}T03:00:00Z`);

async function verified(file: string): Promise<{ messages: number }> {
  const dir = mkdtempSync(join(root, 'verify-'));
  try {
    const manifest = await unpackBackup(file, dir, checkBackupCopy, NO_PROGRESS);
    return { messages: manifest.counts.messages! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'voicegate-scheduled-'));
  sshd = await startSshd();
  const configFile = join(root, 'voicegate.yaml');
  writeFileSync(
    configFile,
    YAML.stringify({
      server: { dataDir: 'data', timeZone: 'UTC' },
      log: { level: 'silent' },
      backup: {
        schedule: 'daily',
        at: '03:00',
        keep: 2,
        destinations: [
          { type: 'folder', path: folder() },
          {
            type: 'sftp',
            host: sshd.host,
            port: sshd.port,
            username: sshd.username,
            privateKeyFile: sshd.userKey,
            hostKeyFingerprint: sshd.hostKeyFingerprint,
            path: remote(),
          },
        ],
      },
    }),
  );
  loaded = loadConfig(configFile, [
    'http.port=0',
    'imap.port=0',
    'imap.tlsPort=0',
    'sip.port=0',
    'sip.rtpPortMin=0',
    'sip.rtpPortMax=0',
    'smtp.port=0',
  ]);
  mkdirSync(loaded.dataDir, { recursive: true });
  const { ensureSelfSignedCert } = await import('../../server/config/tls-cert.ts');
  await ensureSelfSignedCert(loaded.tlsCert, loaded.tlsKey, 'voicegate.local');
  const built = await buildServer(loaded, createLogger('silent'));
  scheduler = (built.parts.get('backup') as unknown as { scheduler: BackupScheduler }).scheduler;
  server = await built.listen();
  await server.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  for (let i = 0; i < 3; i++)
    await server.context.messages.deposit({
      mailbox: 'alice',
      audio: toneWav({ seconds: 1, frequency: 400 + i * 50 }),
      callerNumber: `555000${i}`,
    });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await sshd?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('scheduled backups', () => {
  it('sends each backup to a folder and over SFTP, each keeping the newest two', async () => {
    for (const n of [1, 2, 3]) {
      const run = await scheduler.run(day(n));
      expect(run.failed).toEqual([]);
      expect(run.sent).toHaveLength(2);
    }
    const expected = [
      'voicegate-backup-voicegate-20260102T030000Z.tar.gz',
      'voicegate-backup-voicegate-20260103T030000Z.tar.gz',
    ];
    expect(readdirSync(folder()).sort()).toEqual(expected);
    expect(readdirSync(remote()).sort()).toEqual(expected);
    for (const name of expected) {
      expect(await verified(join(folder(), name))).toEqual({ messages: 3 });
      expect(await verified(join(remote(), name))).toEqual({ messages: 3 });
    }
    // Nothing left behind in the data folder.
    expect(readdirSync(join(loaded.dataDir, '.backup-work'))).toEqual([]);
  }, 120_000);

  it('refuses an SFTP server whose host key is not the configured one; the folder still gets it', async () => {
    const source = backupSource(loaded);
    const logs: string[] = [];
    const wrong = new BackupScheduler({
      schedule: { schedule: 'daily', at: '03:00', weekday: 'sunday' },
      timeZone: 'UTC',
      keep: 5,
      source,
      destinations: [
        sftpDestination({
          host: sshd.host,
          port: sshd.port,
          username: sshd.username,
          privateKeyFile: sshd.userKey,
          passphrase: '',
          hostKeyFingerprint: `SHA256:${'A'.repeat(43)}`,
          path: join(sshd.home, 'elsewhere'),
        }),
        folderDestination(join(root, 'second')),
      ],
      workDir: join(root, 'work'),
      log: { info: (_o, m) => logs.push(m), warn: (_o, m) => logs.push(m) },
      runsHere: () => true,
    });
    const run = await wrong.run(day(4));
    expect(run.failed).toHaveLength(1);
    expect(run.failed[0]!.error).toMatch(/presented host key SHA256:.*not the configured/);
    expect(readdirSync(join(root, 'second'))).toHaveLength(1);
    expect(logs).toContain('backup not sent');
  }, 60_000);

  it('runs by itself at the scheduled time, only on the node that runs once-only work', async () => {
    const due = Date.parse('2026-01-05T03:00:00Z');
    const started = Date.now();
    // A clock 300 ms before the scheduled time: the timer, not the test, starts the backup.
    const now = (): number => due - 300 + (Date.now() - started);
    let sent!: () => void;
    const wasSent = new Promise<void>((r) => (sent = r));
    const make = (runsHere: boolean, dir: string) =>
      new BackupScheduler({
        schedule: { schedule: 'daily', at: '03:00', weekday: 'sunday' },
        timeZone: 'UTC',
        keep: 5,
        source: backupSource(loaded),
        destinations: [folderDestination(dir)],
        workDir: join(root, `work-${runsHere}`),
        log: { info: (_o, m) => m === 'backup sent' && sent(), warn: () => {} },
        runsHere: () => runsHere,
        now,
      });
    const elsewhere = make(false, join(root, 'not-here'));
    const here = make(true, join(root, 'timed'));
    elsewhere.start();
    here.start();
    await wasSent;
    await here.stop();
    await elsewhere.stop();
    expect(readdirSync(join(root, 'timed'))).toEqual([
      'voicegate-backup-voicegate-20260105T030000Z.tar.gz',
    ]);
    expect(readdirSync(root)).not.toContain('not-here');
  }, 60_000);
});
