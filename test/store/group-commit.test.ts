import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { tempData, type TempData } from '../helpers/temp-data.ts';
import { addMailbox, newMessage } from './contract/fixtures.ts';
import { openEmbedded } from './embedded.ts';
import { holdFsyncs, isSettled } from './held-fsync.ts';

let data: TempData;
let opened: Awaited<ReturnType<typeof openEmbedded>>;

beforeEach(async () => {
  data = tempData();
  opened = await openEmbedded(data.dir);
});
afterEach(async () => {
  vi.restoreAllMocks();
  await opened.close();
  data.remove();
});

/** Counts the COMMITs the embedded store runs from now on. */
function countCommits(): () => number {
  const db = opened.store.db;
  const exec = db.exec.bind(db);
  let commits = 0;
  db.exec = (sql: string) => {
    if (/^\s*COMMIT\b/i.test(sql)) commits++;
    return exec(sql);
  };
  return () => commits;
}

describe('group commit of deposits', () => {
  it("answers a group, and wakes the feed, only once the WAL's fsync has returned", async () => {
    const box = await addMailbox(opened.store, 'alice', '201');
    const woken: number[] = [];
    // The feed's own checks (every 100 ms, and 5, 20 and 50 ms after a write to the WAL) run on
    // timers: faked, so that the test runs them all while the fsync is held, without waiting.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const unsubscribe = opened.store.feed.subscribe((mailboxId) => woken.push(mailboxId));
    const fsyncs = await holdFsyncs(data.dir);
    try {
      const deposits = Promise.all(
        Array.from({ length: 4 }, () => opened.store.addMessages([newMessage(box.id)], Date.now())),
      );
      await fsyncs.started;
      vi.advanceTimersByTime(500);
      expect(await isSettled(deposits)).toBe(false);
      expect(woken).toEqual([]);
      fsyncs.release();
      expect((await deposits).every((a) => a.messages.length === 1)).toBe(true);
      expect(woken).toContain(box.id);
    } finally {
      fsyncs.release();
      unsubscribe();
      vi.useRealTimers();
    }
  });

  it('makes a group durable by a checkpoint when the WAL fsync fails, and answers it', async () => {
    const box = await addMailbox(opened.store, 'alice', '201');
    const probe = await open(join(data.dir, 'voicegate.db'), 'r');
    const proto = Object.getPrototypeOf(probe) as FileHandle;
    await probe.close();
    vi.spyOn(proto, 'sync').mockRejectedValueOnce(
      Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }),
    );
    const [added] = await Promise.all([
      opened.store.addMessages([newMessage(box.id)], Date.now()),
      opened.store.addMessages([newMessage(box.id)], Date.now()),
    ]);
    expect(proto.sync).toHaveBeenCalled();
    vi.restoreAllMocks();
    await opened.close();
    opened = await openEmbedded(data.dir);
    const listed = await opened.store.listMessages(box.id);
    expect(listed.map((m) => m.id)).toContain(added.messages[0]!.id);
    expect(listed).toHaveLength(2);
  });

  it('commits deposits that are ready in the same turn together: one WAL fsync for 16', async () => {
    const boxes = await Promise.all(
      Array.from({ length: 16 }, (_, i) => addMailbox(opened.store, `box${i}`, `${300 + i}`)),
    );
    const commits = countCommits();
    const added = await Promise.all(
      boxes.map((b) => opened.store.addMessages([newMessage(b.id)], Date.now())),
    );
    expect(added.every((a) => a.messages.length === 1)).toBe(true);
    expect(commits()).toBe(1);
    // A deposit alone is committed alone, without waiting for company.
    await opened.store.addMessages([newMessage(boxes[0]!.id)], Date.now());
    expect(commits()).toBe(2);
  });

  it('answers nobody before the shared commit: a reopened store has every answered deposit', async () => {
    const box = await addMailbox(opened.store, 'alice', '201');
    const ids = (
      await Promise.all(
        Array.from({ length: 8 }, () => opened.store.addMessages([newMessage(box.id)], Date.now())),
      )
    ).flatMap((a) => a.messages.map((m) => m.id));
    await opened.close();
    opened = await openEmbedded(data.dir);
    const listed = await opened.store.listMessages(box.id);
    expect(listed.map((m) => m.id).sort()).toEqual(ids.sort());
  });
});
