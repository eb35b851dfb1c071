import { describe, expect, it } from 'vitest';
import { SharedFsync } from '../../server/store/shared-fsync.ts';

/** A stand-in fsync whose calls the test ends, one by one. */
function heldFsync(): {
  fsync: (path: string) => Promise<void>;
  started: string[];
  finish: (err?: Error) => void;
} {
  const pending: { resolve: () => void; reject: (err: Error) => void }[] = [];
  const started: string[] = [];
  return {
    started,
    fsync: (path) =>
      new Promise<void>((resolve, reject) => {
        started.push(path);
        pending.push({ resolve, reject });
      }),
    finish: (err) => {
      const next = pending.shift()!;
      if (err) next.reject(err);
      else next.resolve();
    },
  };
}

/** Which of `promises` have settled, and how, after pending callbacks ran. */
async function settled(promises: Promise<void>[]): Promise<string[]> {
  const states = promises.map(() => 'pending');
  promises.forEach((p, i) =>
    p.then(
      () => (states[i] = 'done'),
      (err: Error) => (states[i] = err.message),
    ),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return states;
}

describe('fsyncs shared by concurrent callers', () => {
  it('syncs 5 callers of one folder with 2 fsyncs, each answered after one that began after its call', async () => {
    const disk = heldFsync();
    const shared = new SharedFsync(disk.fsync);
    const first = shared.sync('/a');
    expect(disk.started).toEqual(['/a']);
    // Four more while the first fsync runs: they may have renamed after it began.
    const later = [shared.sync('/a'), shared.sync('/a'), shared.sync('/a'), shared.sync('/a')];
    expect(disk.started).toEqual(['/a']);
    expect(await settled([first, ...later])).toEqual(Array(5).fill('pending'));

    disk.finish();
    expect(await settled([first, ...later])).toEqual(['done', ...Array(4).fill('pending')]);
    expect(disk.started).toEqual(['/a', '/a']);

    disk.finish();
    expect(await settled(later)).toEqual(Array(4).fill('done'));
    expect(disk.started).toHaveLength(2);
  });

  it('syncs different folders independently', async () => {
    const disk = heldFsync();
    const shared = new SharedFsync(disk.fsync);
    const a = shared.sync('/a');
    const b = shared.sync('/b');
    expect(disk.started).toEqual(['/a', '/b']);
    disk.finish();
    expect(await settled([a, b])).toEqual(['done', 'pending']);
    disk.finish();
    expect(await settled([b])).toEqual(['done']);
  });

  it('fails only the callers of the fsync that failed', async () => {
    const disk = heldFsync();
    const shared = new SharedFsync(disk.fsync);
    const first = shared.sync('/a');
    const second = [shared.sync('/a'), shared.sync('/a')];
    disk.finish();
    expect(await settled([first])).toEqual(['done']);
    disk.finish(new Error('EIO'));
    expect(await settled(second)).toEqual(['EIO', 'EIO']);
    // The next caller gets an fsync of its own.
    const third = shared.sync('/a');
    expect(disk.started).toHaveLength(3);
    disk.finish();
    expect(await settled([third])).toEqual(['done']);
  });
});
