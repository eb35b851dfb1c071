import { isAbsolute, join } from 'node:path';
import type { BackupScheduler } from '../backup/scheduler.ts';
import { VoicegateError } from '../domain/errors.ts';
import { backupSource } from './backup-source.ts';
import type { Part, Wiring } from './part.ts';

/**
 * Scheduled backups (`backup.*`), on the node that runs the installation's once-only work. With
 * `backup.schedule: off` the backup modules (tar, the SFTP client) are not even loaded: they
 * would cost the process memory for nothing.
 */
export async function buildBackupPart(
  w: Wiring,
): Promise<Part & { scheduler: BackupScheduler | null }> {
  const { config, dataDir } = w.loaded;
  const inData = (p: string): string => (isAbsolute(p) ? p : join(dataDir, p));
  const settings = config.backup;
  if (settings.schedule === 'off')
    return { scheduler: null, listen: async () => {}, close: async () => {} };
  if (settings.destinations.length === 0)
    throw new VoicegateError(
      'INVALID_INPUT',
      `config key "backup.destinations" is empty: scheduled backups (backup.schedule ${settings.schedule}) need a folder or an sftp server`,
    );
  const [{ folderDestination, sftpDestination }, { BackupScheduler }] = await Promise.all([
    import('../backup/destinations.ts'),
    import('../backup/scheduler.ts'),
  ]);
  const destinations = settings.destinations.map((d) =>
    d.type === 'folder'
      ? folderDestination(inData(d.path))
      : sftpDestination({ ...d, privateKeyFile: inData(d.privateKeyFile) }),
  );
  const log = w.log.child({ part: 'backup' });
  const scheduler = new BackupScheduler({
    schedule: settings,
    timeZone: config.server.timeZone,
    keep: settings.keep,
    source: backupSource(w.loaded),
    destinations,
    workDir: join(dataDir, '.backup-work'),
    log,
    runsHere: () => w.once.runsHere('backup'),
  });
  return {
    scheduler,
    listen: async () => scheduler.start(),
    close: () => scheduler.stop(),
  };
}
