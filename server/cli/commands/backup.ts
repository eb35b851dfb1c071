import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
// archive.ts and restore.ts (tar) are loaded by their commands, not with the CLI: `serve`
// would otherwise carry them in memory.
import { DamagedBackup, type BackupManifest } from '../../backup/manifest.ts';
import { backupSource, checkBackupCopy } from '../../compose/backup-source.ts';
import { load, print, printJson } from '../common.ts';
import { cliProgress } from '../progress.ts';

/** Exit status of a backup that is damaged (2 stays bad input, 1 any other failure). */
export const EXIT_DAMAGED = 3;

function summary(m: BackupManifest): string {
  const c = m.counts;
  const bytes = m.files.reduce((n, f) => n + f.size, 0);
  return `${c.mailboxes} mailboxes, ${c.messages} messages, ${c.greetings} greetings, ${m.files.length} files (${(bytes / 1e6).toFixed(1)} MB), taken ${m.createdAt} by Voicegate ${m.version} on ${m.server}`;
}

/** Runs `fn` with progress on stderr; a damaged backup is reported with its own exit status. */
async function withProgress<T>(
  fn: (p: ReturnType<typeof cliProgress>) => Promise<T>,
): Promise<T | undefined> {
  const progress = cliProgress();
  try {
    return await fn(progress);
  } catch (err) {
    if (!(err instanceof DamagedBackup)) throw err;
    process.stderr.write(`\nvoicegate: the backup is damaged: ${err.message}\n`);
    process.exitCode = EXIT_DAMAGED;
    return undefined;
  } finally {
    progress.end();
  }
}

function defaultName(server: string, now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `voicegate-backup-${server}-${stamp}.tar.gz`;
}

export function registerBackup(program: Command): void {
  const backup = program
    .command('backup')
    .description('back up the store and the data folder while the server runs; check a backup');

  backup
    .command('create')
    .description('take a consistent backup now (the server may keep running)')
    .option(
      '--to <file>',
      'the archive to write (default: voicegate-backup-SERVER-TIME.tar.gz here)',
    )
    .option('--json', 'print the manifest as JSON')
    .action(async (o: { to?: string; json?: boolean }, cmd: Command) => {
      const loaded = load(cmd);
      const to = resolve(o.to ?? defaultName(loaded.config.server.name));
      const { createBackup } = await import('../../backup/archive.ts');
      const manifest = await withProgress((p) => createBackup(backupSource(loaded), to, p));
      if (!manifest) return;
      if (o.json) return printJson(manifest);
      print(`wrote ${to}`);
      print(summary(manifest));
    });

  backup
    .command('verify <file>')
    .description('check every checksum, and that the database opens and passes its integrity check')
    .option('--json', 'print the manifest as JSON')
    .action(async (file: string, o: { json?: boolean }) => {
      const { unpackBackup } = await import('../../backup/archive.ts');
      const dir = await mkdtemp(join(tmpdir(), 'voicegate-verify-'));
      try {
        const manifest = await withProgress((p) =>
          unpackBackup(resolve(file), dir, checkBackupCopy, p),
        );
        if (!manifest) return;
        if (o.json) return printJson(manifest);
        print(`${file}: good`);
        print(summary(manifest));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
}

export function registerRestore(program: Command): void {
  program
    .command('restore <file>')
    .description(
      'restore a backup into a data folder, checked whole before anything there changes (stop the server first)',
    )
    .option('--dir <dir>', "the data folder (default: the config's server.dataDir)")
    .option(
      '--force',
      'replace the data in a folder that has some (kept aside until the restore succeeded)',
    )
    .action(async (file: string, o: { dir?: string; force?: boolean }, cmd: Command) => {
      const target = o.dir ? resolve(o.dir) : load(cmd).dataDir;
      const { restoreBackup } = await import('../../backup/restore.ts');
      const manifest = await withProgress((progress) =>
        restoreBackup(resolve(file), target, {
          force: o.force === true,
          check: checkBackupCopy,
          progress,
        }),
      );
      if (!manifest) return;
      print(`restored ${file} into ${target}`);
      print(summary(manifest));
    });
}
