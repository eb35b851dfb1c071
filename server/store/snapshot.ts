import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { VoicegateError } from '../domain/errors.ts';
import { MIGRATIONS } from './migrations.ts';

/** What a store snapshot holds, as a backup's manifest states it. */
export interface SnapshotCounts {
  schemaVersion: number;
  mailboxes: number;
  messages: number;
  greetings: number;
  deliveries: number;
  audioFiles: number;
}

/** A consistent copy of the embedded store, laid out as in a data folder. */
export interface TakenSnapshot {
  /** The folder holding `voicegate.db` and `audio/`. */
  dir: string;
  /** Every file in it, relative to `dir`, `/`-separated; the database first. */
  files: string[];
  counts: SnapshotCounts;
}

const DB = 'voicegate.db';

/** Hard links cost nothing and keep a file that is purged meanwhile; a copy where they can't. */
function linkOrCopy(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    if (code !== 'EXDEV' && code !== 'EPERM') throw err;
  }
  try {
    copyFileSync(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

function audioRelPath(key: string): string {
  return `audio/${key.slice(0, 2)}/${key}.wav`;
}

/** Every audio file present, linked into `dest`: what exists before the database is copied. */
function linkAllAudio(audioRoot: string, dest: string): Set<string> {
  const linked = new Set<string>();
  if (!existsSync(audioRoot)) return linked;
  for (const entry of readdirSync(audioRoot, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === 'tmp') continue;
    mkdirSync(join(dest, 'audio', entry.name), { recursive: true, mode: 0o700 });
    for (const file of readdirSync(join(audioRoot, entry.name))) {
      if (!file.endsWith('.wav')) continue;
      const key = file.slice(0, -4);
      if (linkOrCopy(join(audioRoot, entry.name, file), join(dest, audioRelPath(key))))
        linked.add(key);
    }
  }
  return linked;
}

function referencedKeys(db: DatabaseSync): Set<string> {
  const rows = db
    .prepare(
      'SELECT audio_key FROM message UNION SELECT audio_key FROM greeting UNION SELECT audio_key FROM delivery',
    )
    .all() as { audio_key: string }[];
  return new Set(rows.map((r) => r.audio_key));
}

function count(db: DatabaseSync, table: string): number {
  return Number((db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
}

function counts(db: DatabaseSync, audioFiles: number): SnapshotCounts {
  const version = db.prepare('PRAGMA user_version').get() as { user_version: number };
  return {
    schemaVersion: Number(version.user_version),
    mailboxes: count(db, 'mailbox'),
    messages: count(db, 'message'),
    greetings: count(db, 'greeting'),
    deliveries: count(db, 'delivery'),
    audioFiles,
  };
}

/**
 * One attempt: every audio file linked first, then the database copied as of one instant
 * (`VACUUM INTO` reads one WAL snapshot and blocks no writer), then the audio that snapshot
 * refers to and that appeared after the first pass. Audio is written before the record that
 * refers to it is committed, so only a file purged in the instant between the copy and the
 * second pass can be missing: then the attempt is given up (null) and the caller tries again.
 */
function attempt(dataDir: string, dest: string): TakenSnapshot | null {
  mkdirSync(join(dest, 'audio'), { recursive: true, mode: 0o700 });
  const audioRoot = join(dataDir, 'audio');
  const linked = linkAllAudio(audioRoot, dest);
  const source = new DatabaseSync(join(dataDir, DB), { readOnly: true, timeout: 10_000 });
  try {
    source.prepare('VACUUM INTO ?').run(join(dest, DB));
  } finally {
    source.close();
  }
  chmodSync(join(dest, DB), 0o600);
  const copy = new DatabaseSync(join(dest, DB), { readOnly: true });
  try {
    const wanted = referencedKeys(copy);
    for (const key of wanted) {
      if (linked.has(key)) continue;
      mkdirSync(join(dest, 'audio', key.slice(0, 2)), { recursive: true, mode: 0o700 });
      if (
        !linkOrCopy(join(audioRoot, key.slice(0, 2), `${key}.wav`), join(dest, audioRelPath(key)))
      )
        return null;
    }
    // Audio that no record of the snapshot refers to (purged, or a deposit not committed yet).
    for (const key of linked) if (!wanted.has(key)) unlinkSync(join(dest, audioRelPath(key)));
    const keys = [...wanted].sort();
    return { dir: dest, files: [DB, ...keys.map(audioRelPath)], counts: counts(copy, keys.length) };
  } finally {
    copy.close();
  }
}

/**
 * A consistent copy of the embedded store in `<dataDir>/.snapshot-*` (on the same file system,
 * so audio is hard-linked, not copied), taken while the server runs. The caller removes it.
 */
export function takeSnapshot(dataDir: string, tries = 5): TakenSnapshot {
  if (!existsSync(join(dataDir, DB)))
    throw new VoicegateError('NOT_FOUND', `no store in ${dataDir} (no ${DB})`);
  for (let i = 0; i < tries; i++) {
    const dest = join(dataDir, `.snapshot-${process.pid}-${randomBytes(4).toString('hex')}`);
    mkdirSync(dest, { mode: 0o700 });
    try {
      const taken = attempt(dataDir, dest);
      if (taken) return taken;
    } catch (err) {
      rmSync(dest, { recursive: true, force: true });
      throw err;
    }
    rmSync(dest, { recursive: true, force: true });
  }
  throw new VoicegateError(
    'UNAVAILABLE',
    `audio kept being purged while the store was copied (${tries} tries); try again`,
  );
}

/**
 * Checks a copy of the embedded store laid out as a data folder (a snapshot, or a backup being
 * restored): the database opens, passes `PRAGMA integrity_check`, has a schema this version
 * knows, and every audio file it refers to is there. Throws INVALID_INPUT saying what is wrong.
 */
export function checkSnapshot(dir: string): SnapshotCounts {
  const path = join(dir, DB);
  if (!existsSync(path)) throw new VoicegateError('INVALID_INPUT', `no ${DB} in the backup`);
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly: true });
  } catch (err) {
    throw new VoicegateError('INVALID_INPUT', `the database does not open: ${String(err)}`);
  }
  try {
    let problems: string[];
    try {
      const rows = db.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[];
      problems = rows.map((r) => r.integrity_check).filter((r) => r !== 'ok');
    } catch (err) {
      problems = [(err as Error).message];
    }
    if (problems.length > 0)
      throw new VoicegateError(
        'INVALID_INPUT',
        `the database fails its integrity check: ${problems.slice(0, 3).join('; ')}`,
      );
    const keys = referencedKeys(db);
    const missing = [...keys].filter(
      (k) => !statSync(join(dir, audioRelPath(k)), { throwIfNoEntry: false })?.isFile(),
    );
    if (missing.length > 0)
      throw new VoicegateError(
        'INVALID_INPUT',
        `${missing.length} audio file(s) the database refers to are missing (${missing[0]}...)`,
      );
    const result = counts(db, keys.size);
    if (result.schemaVersion > MIGRATIONS.length)
      throw new VoicegateError(
        'INVALID_INPUT',
        `the backup's store schema is version ${result.schemaVersion}, newer than this Voicegate knows (${MIGRATIONS.length}); upgrade Voicegate`,
      );
    return result;
  } finally {
    db.close();
  }
}
