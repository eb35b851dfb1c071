import { VoicegateError } from '../domain/errors.ts';

/** The archive's first entry: what it holds, and each file's size and checksum. */
export const MANIFEST = 'voicegate-backup.json';
export const FORMAT = 'voicegate-backup';
export const FORMAT_VERSION = 1;

export interface ManifestFile {
  /** Relative to the data folder, `/`-separated. */
  path: string;
  size: number;
  sha256: string;
}

export interface BackupManifest {
  format: typeof FORMAT;
  formatVersion: number;
  /** The Voicegate version that wrote it. */
  version: string;
  createdAt: string;
  server: string;
  backend: string;
  counts: Record<string, number>;
  files: ManifestFile[];
}

/** A backup that is not what it claims to be: a checksum, a file, the database. */
export class DamagedBackup extends VoicegateError {
  constructor(message: string) {
    super('INVALID_INPUT', message);
    this.name = 'DamagedBackup';
  }
}

const SAFE_PATH = /^(?!\/)(?!.*(^|\/)\.\.?(\/|$))[\w.@+-]+(\/[\w.@+-]+)*$/;

export function parseManifest(text: string): BackupManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new DamagedBackup(`${MANIFEST} is not JSON`);
  }
  const m = raw as Partial<BackupManifest>;
  if (m?.format !== FORMAT) throw new DamagedBackup('this is not a Voicegate backup');
  if (m.formatVersion !== FORMAT_VERSION)
    throw new DamagedBackup(
      `backup format ${String(m.formatVersion)} is not one this version reads (${FORMAT_VERSION})`,
    );
  if (!Array.isArray(m.files) || typeof m.counts !== 'object' || typeof m.backend !== 'string')
    throw new DamagedBackup(`${MANIFEST} lacks its files, counts or back end`);
  for (const f of m.files) {
    if (
      typeof f?.path !== 'string' ||
      !SAFE_PATH.test(f.path) ||
      f.path === MANIFEST ||
      typeof f.size !== 'number' ||
      !/^[0-9a-f]{64}$/.test(String(f.sha256))
    )
      throw new DamagedBackup(`${MANIFEST} lists a bad file entry: ${JSON.stringify(f)}`);
  }
  return m as BackupManifest;
}
