import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  chmod,
  copyFile,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import * as tar from 'tar';
import { VoicegateError } from '../domain/errors.ts';
import {
  DamagedBackup,
  FORMAT,
  FORMAT_VERSION,
  MANIFEST,
  parseManifest,
  type BackupManifest,
  type ManifestFile,
} from './manifest.ts';
import type { Progress } from './progress.ts';

/** A consistent copy of the store, laid out as in the data folder, that the caller removes. */
export interface StoreCopy {
  dir: string;
  files: string[];
  counts: Record<string, number>;
}

/** What a backup is taken from: the composition root wires the store's snapshot in. */
export interface BackupSource {
  dataDir: string;
  serverName: string;
  version: string;
  backend: string;
  /** The store as of one instant, taken while the server runs. */
  snapshot(): Promise<StoreCopy>;
  /** Files of the data folder kept with the store (config, certificate, call flows), relative. */
  extraFiles: string[];
}

/** Checks a store copy laid out as a data folder; returns its counts, throws what is wrong. */
export type CheckStoreCopy = (dir: string) => Record<string, number>;

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Takes a backup into `to` (a .tar.gz): the store's snapshot, the data folder's other files,
 * and a manifest with each file's size and SHA-256, first. Written to a temporary name, made
 * durable and renamed, so `to` is either the whole backup or not there.
 */
export async function createBackup(
  source: BackupSource,
  to: string,
  progress: Progress,
  now = new Date(),
): Promise<BackupManifest> {
  progress.step('copying the store');
  const copy = await source.snapshot();
  const partial = `${to}.partial-${process.pid}`;
  try {
    const files = [...copy.files];
    for (const extra of source.extraFiles) {
      const target = join(copy.dir, extra);
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      try {
        await copyFile(join(source.dataDir, extra), target);
        files.push(extra);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    progress.step('checksums', files.length);
    const listed: ManifestFile[] = [];
    for (const path of files) {
      const full = join(copy.dir, path);
      listed.push({ path, size: (await stat(full)).size, sha256: await sha256File(full) });
      progress.advance();
    }
    const manifest: BackupManifest = {
      format: FORMAT,
      formatVersion: FORMAT_VERSION,
      version: source.version,
      createdAt: now.toISOString(),
      server: source.serverName,
      backend: source.backend,
      counts: copy.counts,
      files: listed,
    };
    await writeFile(join(copy.dir, MANIFEST), JSON.stringify(manifest, null, 1), { mode: 0o600 });
    progress.step('writing the archive', files.length + 1);
    await mkdir(dirname(to), { recursive: true });
    await tar.c(
      {
        file: partial,
        cwd: copy.dir,
        gzip: { level: 1 },
        portable: true,
        onWriteEntry: () => progress.advance(),
      },
      [MANIFEST, ...files],
    );
    await chmod(partial, 0o600);
    await fsyncPath(partial);
    await rename(partial, to);
    await fsyncPath(dirname(to));
    return manifest;
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  } finally {
    await rm(copy.dir, { recursive: true, force: true });
  }
}

/** What a backup holds is private to the server's user, whatever the umask or the archive say. */
async function makePrivate(root: string): Promise<void> {
  await chmod(root, 0o700);
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true }))
    await chmod(join(entry.parentPath, entry.name), entry.isDirectory() ? 0o700 : 0o600);
}

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile())
      out.push(relative(root, join(entry.parentPath, entry.name)).split(sep).join('/'));
  }
  return out;
}

/**
 * Unpacks a backup into `dir` (new or empty) and checks it whole: the manifest, exactly the
 * files it lists with their sizes and checksums, then the store copy itself (`check`) against
 * the manifest's counts. Throws DamagedBackup saying what is wrong; `dir` is then the caller's
 * to remove.
 */
export async function unpackBackup(
  file: string,
  dir: string,
  check: CheckStoreCopy,
  progress: Progress,
): Promise<BackupManifest> {
  try {
    await stat(file);
  } catch {
    throw new VoicegateError('NOT_FOUND', `no backup at ${file}`);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  progress.step('unpacking');
  try {
    await tar.x({
      file,
      cwd: dir,
      strict: true,
      preserveOwner: false,
      // Only plain files and folders: a link or device in a backup is not ours.
      filter: (_path, entry) =>
        'type' in entry && (entry.type === 'File' || entry.type === 'Directory'),
    });
  } catch (err) {
    throw new DamagedBackup(`the archive cannot be read: ${(err as Error).message}`);
  }
  await makePrivate(dir);
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST), 'utf8');
  } catch {
    throw new DamagedBackup(`the archive has no ${MANIFEST}: not a Voicegate backup`);
  }
  const manifest = parseManifest(text);
  const present = new Set((await listFiles(dir)).filter((p) => p !== MANIFEST));
  for (const f of manifest.files)
    if (!present.delete(f.path)) throw new DamagedBackup(`${f.path} is missing from the archive`);
  if (present.size > 0)
    throw new DamagedBackup(
      `the archive holds files its manifest does not list: ${[...present][0]}`,
    );
  progress.step('checking checksums', manifest.files.length);
  for (const f of manifest.files) {
    const full = join(dir, f.path);
    if ((await stat(full)).size !== f.size || (await sha256File(full)) !== f.sha256)
      throw new DamagedBackup(`${f.path} does not match its checksum`);
    progress.advance();
  }
  progress.step('checking the database');
  let counts: Record<string, number>;
  try {
    counts = check(dir);
  } catch (err) {
    throw new DamagedBackup((err as Error).message);
  }
  for (const [name, n] of Object.entries(manifest.counts))
    if (counts[name] !== n)
      throw new DamagedBackup(`the manifest counts ${n} ${name}, the database ${counts[name]}`);
  return manifest;
}
