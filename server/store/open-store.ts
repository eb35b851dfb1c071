import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { AudioFiles } from './audio-files.ts';
import { SqliteStore } from './sqlite-store.ts';

export interface EmbeddedStore {
  store: SqliteStore;
  audio: AudioFiles;
}

/**
 * The database holds codes' hashes and callers' numbers: only the server's user may read it.
 * SQLite creates the -wal and -shm files with the database file's mode, so creating that file
 * 0600 first covers them; stores made before this are corrected at each open.
 */
function privateDatabase(path: string): void {
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`])
    if (existsSync(file)) chmodSync(file, 0o600);
}

/** Opens (creating if needed) the embedded store in `dataDir`: `voicegate.db` and `audio/`. */
export function openEmbeddedStore(
  dataDir: string,
  opts: { sweep?: boolean; onFeedError?: (err: unknown) => void } = {},
): EmbeddedStore {
  // A folder made here is private; one that was there (perhaps shared) is left as it is.
  if (mkdirSync(dataDir, { recursive: true, mode: 0o700 })) chmodSync(dataDir, 0o700);
  const dbPath = join(dataDir, 'voicegate.db');
  privateDatabase(dbPath);
  const store = new SqliteStore(dbPath, { onFeedError: opts.onFeedError });
  privateDatabase(dbPath);
  const audio = new AudioFiles(join(dataDir, 'audio'));
  if (opts.sweep) {
    const referenced = store.referencedAudio();
    audio.sweep((key) => referenced.has(key));
  }
  return { store, audio };
}
