import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as tar from 'tar';
import type { SettingsSet } from '../domain/settings-transfer.ts';
import { VoicegateError } from '../domain/errors.ts';
import { DamagedBackup } from './manifest.ts';

/**
 * A configuration export: `voicegate-config.json` (what it holds, the settings, each file's
 * SHA-256) first, then its files: the config file, the call flows, the greetings' audio.
 */
export const CONFIG_MANIFEST = 'voicegate-config.json';
const FORMAT = 'voicegate-config';

export interface ConfigExport {
  format: typeof FORMAT;
  formatVersion: 1;
  version: string;
  createdAt: string;
  server: string;
  withSecrets: boolean;
  /** Archive names of the config file and the flows file, when they were there. */
  configFile: string | null;
  flowsFile: string | null;
  settings: SettingsSet;
  files: { path: string; sha256: string }[];
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Writes the export: files staged in `work`, then one archive, renamed into place when whole. */
export async function writeConfigExport(
  to: string,
  work: string,
  head: Omit<ConfigExport, 'format' | 'formatVersion' | 'files'>,
  files: Map<string, Uint8Array>,
): Promise<ConfigExport> {
  await mkdir(work, { recursive: true, mode: 0o700 });
  const partial = `${to}.partial-${process.pid}`;
  try {
    const listed = [...files].map(([path, bytes]) => ({ path, sha256: sha256(bytes) }));
    for (const [path, bytes] of files) {
      await mkdir(dirname(join(work, path)), { recursive: true, mode: 0o700 });
      await writeFile(join(work, path), bytes, { mode: 0o600 });
    }
    const manifest: ConfigExport = { format: FORMAT, formatVersion: 1, ...head, files: listed };
    await writeFile(join(work, CONFIG_MANIFEST), JSON.stringify(manifest, null, 1), {
      mode: 0o600,
    });
    await tar.c({ file: partial, cwd: work, gzip: true, portable: true }, [
      CONFIG_MANIFEST,
      ...files.keys(),
    ]);
    await rename(partial, to);
    return manifest;
  } finally {
    await rm(partial, { force: true });
    await rm(work, { recursive: true, force: true });
  }
}

/** Unpacks an export into `dir` and checks every file against its checksum. */
export async function readConfigExport(
  file: string,
  dir: string,
): Promise<{ manifest: ConfigExport; get(name: string): Promise<Uint8Array> }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    await tar.x({
      file,
      cwd: dir,
      strict: true,
      filter: (_p, e) => 'type' in e && (e.type === 'File' || e.type === 'Directory'),
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new VoicegateError('NOT_FOUND', `no export at ${file}`);
    throw new DamagedBackup(`the archive cannot be read: ${(err as Error).message}`);
  }
  let manifest: ConfigExport;
  try {
    manifest = JSON.parse(await readFile(join(dir, CONFIG_MANIFEST), 'utf8')) as ConfigExport;
  } catch {
    throw new DamagedBackup(`no readable ${CONFIG_MANIFEST}: not a Voicegate configuration export`);
  }
  if (manifest.format !== FORMAT || manifest.formatVersion !== 1 || !Array.isArray(manifest.files))
    throw new DamagedBackup('not a Voicegate configuration export this version reads');
  const sums = new Map(manifest.files.map((f) => [f.path, f.sha256]));
  for (const [path, sum] of sums) {
    if (path.startsWith('/') || path.split('/').includes('..'))
      throw new DamagedBackup(`the export names a file outside itself: ${path}`);
    let bytes: Buffer;
    try {
      bytes = await readFile(join(dir, path));
    } catch {
      throw new DamagedBackup(`${path} is missing from the archive`);
    }
    if (sha256(bytes) !== sum) throw new DamagedBackup(`${path} does not match its checksum`);
  }
  return {
    manifest,
    get: async (name) => {
      if (!sums.has(name)) throw new DamagedBackup(`${name} is not listed in the export`);
      return readFile(join(dir, name));
    },
  };
}
