import { spawn } from 'node:child_process';
import { chmodSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbedded } from './embedded.ts';
import { BIN } from '../helpers/cli.ts';
import { makeTempDir } from '../helpers/temp-data.ts';

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

/** Every path under `root` (folders and files) with its mode. */
function modes(root: string): Record<string, string> {
  const out: Record<string, string> = { '.': mode(root) };
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const path = join(e.parentPath, e.name);
    out[path.slice(root.length + 1)] = mode(path);
  }
  return out;
}

const dirs: string[] = [];
const stores: Awaited<ReturnType<typeof openEmbedded>>[] = [];
const savedUmask = process.umask();
afterEach(async () => {
  process.umask(savedUmask);
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = makeTempDir('voicegate-modes-');
  dirs.push(d);
  return d;
}

describe('file modes: only the server user reads the store', () => {
  it('creates the database, its WAL, and audio folders and files private, whatever the umask', async () => {
    const data = join(tempDir(), 'data');
    process.umask(0);
    const s = await openEmbedded(data);
    stores.push(s);
    await s.audio.put(new Uint8Array(100));
    s.store.db.exec('CREATE TABLE IF NOT EXISTS t (x); INSERT INTO t VALUES (1)');
    const all = modes(data);
    expect(all['.']).toBe('700');
    expect(all['voicegate.db']).toBe('600');
    expect(all['voicegate.db-wal']).toBe('600');
    expect(all['voicegate.db-shm']).toBe('600');
    const audio = Object.entries(all).filter(([p]) => p.startsWith('audio'));
    expect(audio.length).toBeGreaterThanOrEqual(4); // audio, tmp, a fan-out folder, a file
    for (const [path, m] of audio) expect(m, path).toBe(path.endsWith('.wav') ? '600' : '700');
  });

  it('corrects a store written before, at open', async () => {
    const data = join(tempDir(), 'data');
    const first = await openEmbedded(data);
    const key = await first.audio.put(new Uint8Array(100));
    await first.close();
    const wav = first.audio.path(key);
    for (const p of [join(data, 'voicegate.db'), wav]) chmodSync(p, 0o644);
    for (const p of [join(data, 'audio'), join(data, 'audio', 'tmp'), join(wav, '..')])
      chmodSync(p, 0o755);
    const s = await openEmbedded(data);
    stores.push(s);
    expect(mode(join(data, 'voicegate.db'))).toBe('600');
    expect(mode(join(data, 'audio'))).toBe('700');
    expect(mode(join(wav, '..'))).toBe('700');
    expect(mode(wav)).toBe('600');
  });

  it('init writes the config, data folder and TLS key private under umask 000', async () => {
    const dir = join(tempDir(), 'fresh');
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        'sh',
        ['-c', 'umask 000; exec "$0" "$1" init --dir "$2"', process.execPath, BIN, dir],
        { stdio: 'ignore' },
      );
      child.once('error', reject);
      child.once('exit', resolve);
    });
    expect(code).toBe(0);
    expect(mode(dir)).toBe('700');
    expect(mode(join(dir, 'voicegate.yaml'))).toBe('600');
    expect(mode(join(dir, 'tls', 'key.pem'))).toBe('600');
    expect(mode(join(dir, 'tls'))).toBe('700');
  });
});
