import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { OpenedStore } from '../domain/ports.ts';
import { AudioFiles } from './audio-files.ts';
import { SqliteStore } from './sqlite-store.ts';

/** What opening a store needs: the config's `store` section and the data folder. */
export interface StoreConfig {
  store: { backend: 'sqlite' };
  dataDir: string;
}

export interface OpenOptions {
  /** Removes audio a crash left without a record (the server does it at start). */
  sweep?: boolean;
  onFeedError?: (err: unknown) => void;
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

/**
 * The one way into storage: the store, its audio and a health check, as interfaces, whatever
 * `config.store.backend` names. Only `sqlite` exists today (`voicegate.db` and `audio/` in the
 * data folder, created if needed).
 */
export async function openStore(config: StoreConfig, opts: OpenOptions = {}): Promise<OpenedStore> {
  switch (config.store.backend) {
    case 'sqlite':
      return openEmbedded(config.dataDir, opts);
  }
}

function openEmbedded(dataDir: string, opts: OpenOptions): OpenedStore {
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
  return {
    store,
    audio,
    health: async () => store.health(),
    close: () => store.close(),
  };
}
