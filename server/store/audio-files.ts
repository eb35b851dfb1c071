import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, rm, stat, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { VoicegateError } from '../domain/errors.ts';
import type { AudioStore, ByteRange } from '../domain/ports.ts';

/** fsync of a folder, so a rename or a new entry in it survives a power loss. */
async function fsyncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Audio is private to the server's user: folders 0700, files 0600, whatever the umask. */
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/** Corrects a tree written before audio was private (its root was not 0700 yet). */
function makePrivate(root: string): void {
  if ((statSync(root).mode & 0o777) === DIR_MODE) return;
  for (const entry of readdirSync(root, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    // A file another process renames or removes meanwhile is no error.
    try {
      chmodSync(path, entry.isDirectory() ? DIR_MODE : FILE_MODE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  chmodSync(root, DIR_MODE);
}

function storageError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG') {
    return new VoicegateError('STORAGE_FULL', 'no space left to store the audio', { cause: err });
  }
  return err;
}

function missing(err: unknown): unknown {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT')
    return new VoicegateError('NOT_FOUND', 'audio is missing', { cause: err });
  return err;
}

/**
 * Audio as files under `<root>/<2 hex>/<uuid>.wav`, written atomically: a temporary file in
 * `<root>/tmp`, fsync, rename into place, fsync of the folder. A crash leaves either the whole
 * file or only a temporary file, which `sweep` removes.
 */
export class AudioFiles implements AudioStore {
  readonly root: string;
  readonly #tmp: string;
  /** Fan-out folders known to exist, so a deposit doesn't ask the disk each time. */
  readonly #folders = new Set<string>();

  constructor(root: string) {
    this.root = root;
    this.#tmp = join(root, 'tmp');
    mkdirSync(this.#tmp, { recursive: true, mode: DIR_MODE });
    chmodSync(this.#tmp, DIR_MODE);
    makePrivate(root);
  }

  /** Where the file of `key` is: for this store's own use (and its tests), never a channel's. */
  path(key: string): string {
    if (!/^[0-9a-f-]{36}$/.test(key))
      throw new VoicegateError('INVALID_INPUT', `bad audio key "${key}"`);
    return join(this.root, key.slice(0, 2), `${key}.wav`);
  }

  /**
   * Audio may not take the last bytes of the disk: the database needs room to record deletes
   * and purges, which are how space is freed again. A commit writes whole pages to the WAL
   * (the message, its indexes, the search index, the journal: tens of KB), and the WAL is
   * reused only after a checkpoint, so the floor leaves room for several such commits.
   */
  async #checkRoom(size: number): Promise<void> {
    const fs = await statfs(this.root);
    const total = fs.blocks * fs.bsize;
    const reserve = Math.min(16 * 1024 * 1024, Math.max(512 * 1024, total * 0.05));
    if (fs.bavail * fs.bsize - size < reserve) {
      throw new VoicegateError('STORAGE_FULL', 'no space left to store the audio');
    }
  }

  async put(bytes: Uint8Array): Promise<string> {
    await this.#checkRoom(bytes.byteLength);
    const key = randomUUID();
    const tmp = join(this.#tmp, `${key}.tmp`);
    const final = this.path(key);
    try {
      const fh = await open(tmp, 'wx', FILE_MODE);
      try {
        await fh.chmod(FILE_MODE);
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
      const folder = dirname(final);
      if (!this.#folders.has(folder)) {
        const made = await mkdir(folder, { recursive: true, mode: DIR_MODE });
        if (made) {
          await chmod(folder, DIR_MODE);
          await fsyncDir(this.root);
        }
        this.#folders.add(folder);
      }
      await rename(tmp, final);
      await fsyncDir(folder);
      return key;
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => {});
      throw storageError(err);
    }
  }

  async read(key: string): Promise<Buffer> {
    try {
      return await readFile(this.path(key));
    } catch (err) {
      throw missing(err);
    }
  }

  async size(key: string): Promise<number> {
    try {
      return (await stat(this.path(key))).size;
    } catch (err) {
      throw missing(err);
    }
  }

  /** Opens the file first, so a missing one is NOT_FOUND here, not an error event later. */
  async stream(key: string, range?: ByteRange): Promise<Readable> {
    let fh;
    try {
      fh = await open(this.path(key), 'r');
    } catch (err) {
      throw missing(err);
    }
    return fh.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async remove(keys: string[]): Promise<void> {
    for (const key of keys) await rm(this.path(key), { force: true });
  }

  /**
   * Removes what a crash can leave: temporary files, and audio no record refers to (stored just
   * before a crash, before its record was committed). Only files older than `graceMs` are touched,
   * so a deposit in progress in another process is left alone.
   */
  sweep(isReferenced: (key: string) => boolean, graceMs = 10 * 60_000, now = Date.now()): number {
    let removed = 0;
    // Another process may rename or remove a file meanwhile: a vanished file is not an error.
    const old = (path: string): boolean => {
      const stat = statSync(path, { throwIfNoEntry: false });
      return stat !== undefined && now - stat.mtimeMs > graceMs;
    };
    for (const entry of readdirSync(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const folder = join(this.root, entry.name);
      for (const file of readdirSync(folder)) {
        const path = join(folder, file);
        const key = file.replace(/\.(wav|tmp)$/, '');
        const stray = entry.name === 'tmp' ? true : !isReferenced(key);
        if (stray && old(path)) {
          rmSync(path, { force: true });
          removed++;
        }
      }
    }
    return removed;
  }
}
