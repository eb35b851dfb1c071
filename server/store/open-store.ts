import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { VoicegateError, type ErrorCode } from '../domain/errors.ts';
import type { OpenedStore } from '../domain/ports.ts';
import { AudioFiles } from './audio-files.ts';
import { checkSnapshot, type SnapshotCounts, type TakenSnapshot } from './snapshot.ts';
import { SqliteStore } from './sqlite-store.ts';

export type { SnapshotCounts, TakenSnapshot };

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
