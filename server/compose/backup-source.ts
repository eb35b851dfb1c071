import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { BackupSource, CheckStoreCopy } from '../backup/archive.ts';
import type { LoadedConfig } from '../config/load.ts';
import { packageVersion } from '../context.ts';
import { checkStoreCopy, snapshotStore } from '../store/open-store.ts';

/** `path` relative to the data folder, or null when it lies outside it. */
function inside(dataDir: string, path: string): string | null {
  const rel = relative(dataDir, path);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return null;
  return rel.split(sep).join('/');
}

/**
 * What a backup of this installation holds: the store's snapshot, and the files of the data
 * folder that belong with it (the config file, the TLS certificate and key, the call flows)
 * when they live there. Files elsewhere (/etc) are the system's backup's.
 */
export function backupSource(loaded: LoadedConfig): BackupSource {
  const { config, dataDir } = loaded;
  const candidates = [
    loaded.file,
    loaded.tlsCert,
    loaded.tlsKey,
    resolve(dataDir, config.sip.flowsFile),
  ];
  return {
    dataDir,
    serverName: config.server.name,
    version: packageVersion(),
    backend: config.store.backend,
    snapshot: async () => {
      const taken = await snapshotStore({ store: config.store, dataDir });
      return { ...taken, counts: { ...taken.counts } };
    },
    extraFiles: [...new Set(candidates.map((p) => inside(dataDir, p)).filter((p) => p !== null))],
  };
}

export const checkBackupCopy: CheckStoreCopy = (dir) => ({ ...checkStoreCopy(dir) });
