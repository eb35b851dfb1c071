import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { VoicegateError, type ErrorCode } from '../domain/errors.ts';
import type { OpenedStore } from '../domain/ports.ts';
import { SINGLE_NODE, type RunOnce } from '../domain/run-once.ts';
import { AudioFiles } from './audio-files.ts';
import { checkSnapshot, type SnapshotCounts, type TakenSnapshot } from './snapshot.ts';
import type { CopyProgress, CopyReport } from './copy-store.ts';
import { SqliteStore } from './sqlite-store.ts';

export type { SnapshotCounts, TakenSnapshot };

/** What opening a store needs: the config's `store` section and the data folder. */
export interface StoreConfig {
  store: { backend: 'sqlite' | 'postgresql'; url?: string };
  dataDir: string;
}

export interface OpenOptions {
  /** Removes audio a crash left without a record (the server does it at start). */
  sweep?: boolean;
  onFeedError?: (err: unknown) => void;
  /** A WAL checkpoint failed (the embedded store; its frames stay in the WAL, tried again). */
  onCheckpointError?: (err: unknown) => void;
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
  const store = new SqliteStore(dbPath, {
    onFeedError: opts.onFeedError,
    checkpoints: { onError: opts.onCheckpointError },
  });
  privateDatabase(dbPath);
  const audio = new AudioFiles(join(dataDir, 'audio'), {
    unnamed: (keys) => store.unusedAudio(keys),
  });
  if (opts.sweep) {
    const referenced = store.referencedAudio();
    audio.sweep((key) => referenced.has(key));
  }
  return {
    store,
    audio,
    health: async () => store.health(),
    close: async () => {
      await store.close();
      await audio.close();
    },
  };
}

const SNAPSHOT_WORKER = new URL('./snapshot-worker.ts', import.meta.url);

/**
 * A consistent copy of the store as of one instant, taken while the server runs and writes (for
 * backups): a folder laid out as a data folder (`voicegate.db`, `audio/`) inside the data
 * folder, which the caller removes. Only the embedded store can do it for now.
 */
export async function snapshotStore(config: StoreConfig): Promise<TakenSnapshot> {
  const backend: string = config.store.backend;
  if (backend !== 'sqlite')
    throw new VoicegateError(
      'INVALID_STATE',
      `backups of the ${backend} store are not supported: use its own tools (for PostgreSQL, pg_dump)`,
    );
  const worker = new Worker(SNAPSHOT_WORKER, {
    workerData: { dataDir: config.dataDir },
    name: 'voicegate-snapshot',
  });
  type Reply =
    { ok: true; snapshot: TakenSnapshot } | { ok: false; code?: ErrorCode; message: string };
  const reply = await new Promise<Reply>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the snapshot thread exited (code ${code})`)));
  });
  await worker.terminate();
  if (!reply.ok) throw new VoicegateError(reply.code ?? 'INTERNAL', reply.message);
  return reply.snapshot;
}

/**
 * Checks a copy of the embedded store laid out as a data folder (a backup being verified or
 * restored): the database opens and passes its integrity check, its schema is one this version
 * knows, every audio file it refers to is there. Throws INVALID_INPUT saying what is wrong.
 */
export function checkStoreCopy(dir: string): SnapshotCounts {
  return checkSnapshot(dir);
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
