import { mkdirSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FlowsFile } from '../domain/replica-service.ts';

/**
 * Where replication keeps its place, durably, in the data folder (`replication/`): per peer, on
 * the sender what the peer confirmed (`to-<peer>.json`), on the receiver the last change it
 * applied (`from-<peer>.json`). Each is written whole (temporary file, fsync, rename, fsync of
 * the folder), so a crash leaves the old one or the new one, never half of one.
 */
export async function writeAtomic(path: string, bytes: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  syncFolder(dirname(path));
}

function syncFolder(folder: string): void {
  mkdirSync(folder, { recursive: true });
  const fd = openSync(folder, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** A JSON record kept in one file: null when there is none. */
export class JsonFile<T> {
  readonly path: string;
  constructor(path: string) {
    this.path = path;
  }
  async read(): Promise<T | null> {
    const text = await readText(this.path);
    return text === null ? null : (JSON.parse(text) as T);
  }
  async write(value: T | null): Promise<void> {
    if (value === null) await rm(this.path, { force: true });
    else await writeAtomic(this.path, JSON.stringify(value));
  }
}

/** The replication records of a data folder, by peer and direction. */
export function replicaRecord<T>(dataDir: string, way: 'to' | 'from', peer: string): JsonFile<T> {
  return new JsonFile<T>(join(dataDir, 'replication', `${way}-${peer}.json`));
}

/** A backup's greetings changed while live, waiting for the central (`greeting-outbox.ts`). */
export function greetingOutboxFile<T>(dataDir: string, central: string): JsonFile<T> {
  return new JsonFile<T>(join(dataDir, 'replication', `greetings-to-${central}.json`));
}

/** The call flows file (`sip.flowsFile`), read and replaced whole. */
export function flowsFileAt(path: string): FlowsFile {
  return {
    read: () => readText(path),
    write: async (text) => {
      if (text === null) await rm(path, { force: true });
      else await writeAtomic(path, text);
    },
  };
}
