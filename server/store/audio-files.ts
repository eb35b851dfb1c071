import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import {
  chmod,
  mkdir,
  open,
  readFile,
  rename,
  rm,
  stat,
  statfs,
  type FileHandle,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { VoicegateError } from '../domain/errors.ts';
import type { AudioStore, ByteRange } from '../domain/ports.ts';
import { SharedFsync } from './shared-fsync.ts';

/** Audio is private to the server's user: folders 0700, files 0600, whatever the umask. */
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
/**
 * New keys go into one fan-out folder at a time, a random one for each run of this many, so
 * concurrent puts rename into the same folder and share its fsync; over many runs the 256
 * folders fill evenly.
 */
const KEYS_PER_FOLDER_RUN = 256;
/**
 * A temporary audio file is opened with O_DSYNC where there is one: its write returns once the
 * bytes are on disk, as a write then fdatasync would, in one call on the thread pool instead of
 * two (each call is a hop of the event loop). Elsewhere the file is fsynced after the write.
 */
const DURABLE_WRITES = constants.O_DSYNC ?? 0;
const CREATE_TEMPORARY = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | DURABLE_WRITES;
/** Folders whose handle is kept open for their fsyncs (the key folder of the run, the root). */
const FOLDER_HANDLES = 4;

interface Room {
  /** Bytes free for the server's user, as one statfs read them. */
  available: number;
  /** What audio must leave free (see #checkRoom). */
  reserve: number;
}

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

/**
 * Whether a file created with mode 0600 in `dir` gets exactly that mode (the umask leaves the
 * owner's bits alone, as it does unless set to something odd): then new audio files need no
 * chmod of their own, one call fewer per put.
 */
function createsPrivateFiles(dir: string): boolean {
  const probe = join(dir, `${randomUUID()}.tmp`);
  const fd = openSync(probe, 'wx', FILE_MODE);
  try {
    return (fstatSync(fd).mode & 0o777) === FILE_MODE;
  } finally {
    closeSync(fd);
    rmSync(probe, { force: true });
  }
}

/** Writes all of `bytes` at the file's position (one write, unless the kernel writes less). */
async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.byteLength;) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.byteLength - done);
    done += bytesWritten;
  }
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
 * `<root>/tmp` written durably (O_DSYNC, else fsync), rename into place, fsync of the folder. A
 * crash leaves either the whole file or only a temporary file, which `sweep` removes. Concurrent
 * puts share the folder's fsync (`SharedFsync`): their keys start with the same two hex digits.
 */
export class AudioFiles implements AudioStore {
  readonly root: string;
  readonly #tmp: string;
  /**
   * Handles of the folders fsynced lately, kept open: a folder's fsync is then one call on the
   * thread pool, not open, fsync and close (each a hop of the event loop). At most
   * FOLDER_HANDLES, the oldest closed first; all closed by `close()`.
   */
  readonly #folderHandles = new Map<string, Promise<FileHandle>>();
  /** New files need a chmod to be 0600 (the umask takes some of the owner's bits). */
  readonly #chmodFiles: boolean;
  /** Fan-out folders made durable (or being made so), so a deposit doesn't ask the disk each time. */
  readonly #folders = new Map<string, Promise<void>>();
  readonly #fsync: SharedFsync;
  /** The fan-out folder of new keys, and how many more keys go there. */
  #keyFolder = '';
  #keysLeft = 0;
  /** A statfs in progress, shared by the puts that start meanwhile. */
  #room: Promise<Room> | null = null;
  /** Bytes of the puts past their room check and not done yet: not in every statfs reading. */
  #writing = 0;

  /** Of some keys, those no record names: the only ones `remove` removes. */
  readonly #unnamed: (keys: string[]) => string[];

  /**
   * `fsyncFolder` replaces the fsync of a folder by its path (tests hold it to watch puts wait).
   * `unnamed` says which keys no record names (the store's own check); without it every key
   * given to `remove` is removed.
   */
  constructor(
    root: string,
    opts: {
      fsyncFolder?: (path: string) => Promise<void>;
      unnamed?: (keys: string[]) => string[];
    } = {},
  ) {
    this.root = root;
    this.#unnamed = opts.unnamed ?? ((keys) => keys);
    this.#fsync = new SharedFsync(opts.fsyncFolder ?? ((path) => this.#syncFolder(path)));
    this.#tmp = join(root, 'tmp');
    mkdirSync(this.#tmp, { recursive: true, mode: DIR_MODE });
    chmodSync(this.#tmp, DIR_MODE);
    makePrivate(root);
    this.#chmodFiles = !createsPrivateFiles(this.#tmp);
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
    this.#room ??= this.#readRoom();
    const { available, reserve } = await this.#room;
    if (available - this.#writing - size < reserve) {
      throw new VoicegateError('STORAGE_FULL', 'no space left to store the audio');
    }
  }

  async #readRoom(): Promise<Room> {
    try {
      const fs = await statfs(this.root);
      const total = fs.blocks * fs.bsize;
      const reserve = Math.min(16 * 1024 * 1024, Math.max(512 * 1024, total * 0.05));
      return { available: fs.bavail * fs.bsize, reserve };
    } finally {
      this.#room = null;
    }
  }

  async #syncFolder(path: string): Promise<void> {
    let handle = this.#folderHandles.get(path);
    if (!handle) {
      handle = open(path, 'r');
      this.#folderHandles.set(path, handle);
      for (const old of [...this.#folderHandles.keys()].slice(0, -FOLDER_HANDLES))
        this.#closeFolder(old);
    }
    try {
      await (await handle).sync();
    } catch (err) {
      // Opened anew next time: a handle whose fsync failed vouches for nothing after.
      this.#closeFolder(path);
      throw err;
    }
  }

  /** Closes a folder's kept handle (once the calls running on it end: FileHandle waits). */
  #closeFolder(path: string): Promise<void> {
    const handle = this.#folderHandles.get(path);
    this.#folderHandles.delete(path);
    return (handle ?? Promise.resolve(null)).then(
      (fh) => fh?.close(),
      () => {},
    );
  }

  /** Closes the folders' handles kept for their fsyncs. */
  async close(): Promise<void> {
    await Promise.all([...this.#folderHandles.keys()].map((path) => this.#closeFolder(path)));
  }

  /** A random UUID in the fan-out folder of the current run. */
  #newKey(): string {
    if (this.#keysLeft-- <= 0) {
      this.#keyFolder = randomUUID().slice(0, 2);
      this.#keysLeft = KEYS_PER_FOLDER_RUN - 1;
    }
    return this.#keyFolder + randomUUID().slice(2);
  }

  async put(bytes: Uint8Array): Promise<string> {
    await this.#checkRoom(bytes.byteLength);
    this.#writing += bytes.byteLength;
    try {
      return await this.#put(bytes);
    } finally {
      this.#writing -= bytes.byteLength;
    }
  }

  /**
   * Makes a fan-out folder the first time this process uses it, and fsyncs the root so its
   * entry is durable, whoever made it (another process may have, a moment ago). Concurrent puts
   * into a new folder all wait for that.
   */
  #folderReady(folder: string): Promise<void> {
    let ready = this.#folders.get(folder);
    if (!ready) {
      ready = (async () => {
        if (await mkdir(folder, { recursive: true, mode: DIR_MODE })) await chmod(folder, DIR_MODE);
        await this.#fsync.sync(this.root);
      })();
      this.#folders.set(folder, ready);
      // A failure is its callers'; the next put tries again.
      ready.catch(() => this.#folders.delete(folder));
    }
    return ready;
  }

  async #put(bytes: Uint8Array): Promise<string> {
    const key = this.#newKey();
    const tmp = join(this.#tmp, `${key}.tmp`);
    const final = this.path(key);
    try {
      const fh = await open(tmp, CREATE_TEMPORARY, FILE_MODE);
      try {
        if (this.#chmodFiles) await fh.chmod(FILE_MODE);
        await writeAll(fh, bytes);
        if (!DURABLE_WRITES) await fh.sync();
      } finally {
        await fh.close();
      }
      const folder = dirname(final);
      await this.#folderReady(folder);
      await rename(tmp, final);
      await this.#fsync.sync(folder);
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

  /**
   * Removes the audio of `keys` that no record names. A caller that heard an error from a
   * commit cannot know whether its row was committed (the commit may have been written and its
   * fsync failed): asking the database here means a row never names missing audio.
   */
  async remove(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    for (const key of this.#unnamed(keys)) await rm(this.path(key), { force: true });
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
