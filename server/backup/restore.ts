import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { VoicegateError } from '../domain/errors.ts';
import { unpackBackup, type CheckStoreCopy } from './archive.ts';
import { MANIFEST, type BackupManifest } from './manifest.ts';
import type { Progress } from './progress.ts';

const STAGING = '.restoring';
const ASIDE = '.before-restore';

async function fsyncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Moves the entries of `from` into `to`, noting each in `moved` as it goes. */
async function moveAll(
  from: string,
  to: string,
  skip: Set<string>,
  moved: string[] = [],
): Promise<void> {
  for (const name of await readdir(from)) {
    if (skip.has(name)) continue;
    await rename(join(from, name), join(to, name));
    moved.push(name);
  }
}

/**
 * Restores a backup into the data folder `target`. The backup is unpacked and checked whole
 * in a folder inside `target` (so the moves below are renames on one file system, even when
 * `target` is a mount point) before anything there changes. A folder with data in it is
 * refused unless `force`: then its contents are moved aside, the backup's moved in, and what
 * was there is removed only once that succeeded (put back if it did not).
 */
export async function restoreBackup(
  file: string,
  target: string,
  opts: { force: boolean; check: CheckStoreCopy; progress: Progress },
): Promise<BackupManifest> {
  await mkdir(target, { recursive: true, mode: 0o700 });
  const before = (await readdir(target)).filter((n) => !n.startsWith(STAGING));
  if (before.length > 0 && !opts.force)
    throw new VoicegateError(
      'ALREADY_EXISTS',
      `${target} is not empty: restore into an empty folder (--dir), or pass --force to replace its data (it is kept aside until the restore succeeded)`,
    );
  const staging = join(target, `${STAGING}-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  let manifest: BackupManifest;
  try {
    manifest = await unpackBackup(file, staging, opts.check, opts.progress);
    await rm(join(staging, MANIFEST));
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  opts.progress.step('putting the data in place');
  const aside = join(target, `${ASIDE}-${Date.now()}`);
  await mkdir(aside, { mode: 0o700 });
  const ours = new Set([`${STAGING}-${process.pid}`, aside.slice(target.length + 1)]);
  const movedIn: string[] = [];
  try {
    await moveAll(target, aside, ours);
    await moveAll(staging, target, new Set(), movedIn);
    await fsyncDir(target);
  } catch (err) {
    // Put back what was there: the backup's files out first, then the old ones in.
    for (const name of movedIn) await rm(join(target, name), { recursive: true, force: true });
    await moveAll(aside, target, new Set());
    await rm(aside, { recursive: true, force: true });
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  await rm(staging, { recursive: true, force: true });
  await rm(aside, { recursive: true, force: true });
  return manifest;
}
