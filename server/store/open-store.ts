import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { OpenedStore } from '../domain/ports.ts';
import { SINGLE_NODE, type RunOnce } from '../domain/run-once.ts';
import { AudioFiles } from './audio-files.ts';
import type { CopyProgress, CopyReport } from './copy-store.ts';
import { SqliteStore } from './sqlite-store.ts';

/** What opening a store needs: the config's `store` section and the data folder. */
export interface StoreConfig {
  store: { backend: 'sqlite' | 'postgresql'; url?: string };
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
 * `config.store.backend` names: `sqlite` (`voicegate.db` and `audio/` in the data folder, created
 * if needed) or `postgresql` (`store.url`, shared by several nodes; postgres/README.md).
 */
export async function openStore(config: StoreConfig, opts: OpenOptions = {}): Promise<OpenedStore> {
  switch (config.store.backend) {
    case 'sqlite':
      return openEmbedded(config.dataDir, opts);
    case 'postgresql': {
      // Loaded only when named: an embedded installation never loads the PostgreSQL client.
      const { openPostgres } = await import('./postgres/open-postgres.ts');
      return openPostgres(config.store.url ?? '', opts);
    }
  }
}

/** Whether this node runs the installation's once-only work, and how to stop asking. */
export interface OpenedRunOnce extends RunOnce {
  close(): Promise<void>;
}

/**
 * Who runs the work that must run once (server/domain/run-once.ts): the one process of an
 * embedded store runs all of it; nodes sharing a PostgreSQL store elect a leader with a lease.
 */
export async function openRunOnce(
  config: StoreConfig,
  opts: { tryEveryMs?: number; onChange?: (leader: boolean) => void } = {},
): Promise<OpenedRunOnce> {
  switch (config.store.backend) {
    case 'sqlite':
      return { runsHere: SINGLE_NODE.runsHere, close: async () => {} };
    case 'postgresql': {
      const { openLeaderLease } = await import('./postgres/open-postgres.ts');
      const lease = await openLeaderLease(config.store.url ?? '', opts);
      return { runsHere: (work) => lease.runsHere(work), close: () => lease.stop() };
    }
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

export type { CopyProgress, CopyReport };

/** Copies the embedded store in `dataDir` into the PostgreSQL database at `url` (copy-store.ts). */
export async function copyToPostgres(
  dataDir: string,
  url: string,
  progress?: CopyProgress,
): Promise<CopyReport> {
  const copy = await import('./copy-store.ts');
  return copy.copyToPostgres(dataDir, url, progress);
}
