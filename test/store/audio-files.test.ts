import { readdirSync, readlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AudioFiles } from '../../server/store/audio-files.ts';
import { tempData, type TempData } from '../helpers/temp-data.ts';

let data: TempData;
beforeEach(() => {
  data = tempData();
});
afterEach(() => data.remove());

/** Folder fsyncs held until the test ends them, one by one; the audio root's pass at once. */
function heldFolderFsyncs(root: string): {
  fsyncFolder: (path: string) => Promise<void>;
  started: string[];
  finish: (err?: Error) => void;
} {
  const pending: { resolve: () => void; reject: (err: Error) => void }[] = [];
  const started: string[] = [];
  return {
    started,
    fsyncFolder: (path) => {
      if (path === root) return Promise.resolve();
      started.push(path);
      return new Promise((resolve, reject) => pending.push({ resolve, reject }));
    },
    finish: (err) => {
      const next = pending.shift()!;
      if (err) next.reject(err);
      else next.resolve();
    },
  };
}

function track(puts: Promise<string>[]): { state: string[] } {
  const state = puts.map(() => 'pending');
  puts.forEach((p, i) =>
    p.then(
      () => (state[i] = 'stored'),
      (err: Error) => (state[i] = err.message),
    ),
  );
  return { state };
}

const AUDIO = new Uint8Array(64 * 1024).fill(7);

describe('audio puts sharing their folder’s fsync', () => {
  it('stores 8 concurrent puts in one folder with 2 folder fsyncs, each answered only after one that followed its rename', async () => {
    const root = join(data.dir, 'audio');
    const folders = heldFolderFsyncs(root);
    const audio = new AudioFiles(root, { fsyncFolder: folders.fsyncFolder });
    const puts = Array.from({ length: 8 }, () => audio.put(AUDIO));
    const { state } = track(puts);

    // All eight are renamed into the same fan-out folder while the first fsync of it runs.
    await vi.waitFor(() => expect(folders.started).toHaveLength(1));
    const folder = folders.started[0]!;
    await vi.waitFor(() => expect(readdirSync(folder)).toHaveLength(8));
    expect(folders.started).toHaveLength(1);
    expect(state).toEqual(Array(8).fill('pending'));

    folders.finish();
    await vi.waitFor(() => expect(folders.started).toHaveLength(2));
    // Only the first, renamed before that fsync began, is answered by it.
    expect(state.filter((s) => s === 'stored')).toHaveLength(1);

    folders.finish();
    const keys = await Promise.all(puts);
    expect(folders.started).toEqual([folder, folder]);
    expect(new Set(keys.map((k) => dirname(audio.path(k))))).toEqual(new Set([folder]));
    for (const key of keys) expect((await audio.read(key)).equals(AUDIO)).toBe(true);
  });

  it('fails only the puts whose folder fsync failed', async () => {
    const root = join(data.dir, 'audio');
    const folders = heldFolderFsyncs(root);
    const audio = new AudioFiles(root, { fsyncFolder: folders.fsyncFolder });
    const first = [audio.put(AUDIO)];
    const { state: firstState } = track(first);
    await vi.waitFor(() => expect(folders.started).toHaveLength(1));
    const rest = [audio.put(AUDIO), audio.put(AUDIO)];
    const { state } = track(rest);
    await vi.waitFor(() => expect(readdirSync(folders.started[0]!)).toHaveLength(3));

    folders.finish();
    await vi.waitFor(() => expect(firstState).toEqual(['stored']));
    await vi.waitFor(() => expect(folders.started).toHaveLength(2));
    folders.finish(new Error('EIO: i/o error, fsync'));
    await vi.waitFor(() => expect(state).toEqual(Array(2).fill('EIO: i/o error, fsync')));
  });

  it('keeps the folders it fsyncs open while it puts, and lets them go at close', async () => {
    const root = join(data.dir, 'audio');
    const audio = new AudioFiles(root);
    const openInRoot = (): string[] =>
      readdirSync('/proc/self/fd')
        .map((fd) => {
          try {
            return readlinkSync(`/proc/self/fd/${fd}`);
          } catch {
            return ''; // closed meanwhile
          }
        })
        .filter((path) => path === root || path.startsWith(`${root}/`));
    const keys: string[] = [];
    for (let i = 0; i < 3; i++) keys.push(await audio.put(AUDIO));
    // The root (its new fan-out folder) and that folder: one open each, however many puts.
    expect(openInRoot().sort()).toEqual([root, dirname(audio.path(keys[0]!))].sort());
    await audio.close();
    expect(openInRoot()).toEqual([]);
    for (const key of keys) expect((await audio.read(key)).equals(AUDIO)).toBe(true);
  });
});
