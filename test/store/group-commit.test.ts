import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempData, type TempData } from '../helpers/temp-data.ts';
import { addMailbox, newMessage } from './contract/fixtures.ts';
import { openEmbedded } from './embedded.ts';

let data: TempData;
let opened: Awaited<ReturnType<typeof openEmbedded>>;

beforeEach(async () => {
  data = tempData();
  opened = await openEmbedded(data.dir);
});
afterEach(async () => {
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
