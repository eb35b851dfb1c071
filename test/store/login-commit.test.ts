/**
 * A log-in's writes (the attempt reserved, the failure count reset, the audit record) are on the
 * way of its reply: they share group commits, whose WAL fsync runs on libuv's pool, so the event
 * loop serves other sessions (greetings, commands) while the disk syncs. Each is still answered
 * only once durable.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { tempData, type TempData } from '../helpers/temp-data.ts';
import { addMailbox } from './contract/fixtures.ts';
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

describe("a log-in's writes", () => {
  it('share one commit, answered after the WAL fsync, which the event loop does not wait for', async () => {
    const store = opened.store;
    const box = await addMailbox(store, 'alice', '201');
    const db = store.db;
    const exec = db.exec.bind(db);
    const commits: string[] = [];
    db.exec = (sql: string) => {
      if (/^\s*COMMIT\b/i.test(sql)) commits.push(sql);
      return exec(sql);
    };
    const fsyncs = await holdFsyncs(data.dir);
    const now = Date.now();
    const writes = Promise.all([
      store.reserveLogin(box.id, now, 5, now + 60_000),
      store.reserveLogin(box.id, now, 5, now + 60_000),
      store.recordNoLogin(),
      store.addAudit({
        at: now,
        kind: 'login',
        channel: 'imap',
        principal: 'mailbox:alice',
        mailbox: 'alice',
        client: '127.0.0.1',
        outcome: 'success',
        reason: null,
        details: null,
      }),
    ]);
    // A commit that synced the disk itself, on the loop, would answer before any fsync of ours.
    const before = await Promise.race([
      fsyncs.started.then(() => 'WAL fsync on the pool'),
      writes.then(() => 'answered'),
    ]);
    expect(before).toBe('WAL fsync on the pool');
    // Committed and readable, but nobody answered while the WAL's fsync runs off the loop.
    expect(commits).toHaveLength(1);
    expect((await store.findMailbox('alice'))!.failedLogins).toBe(2);
    expect(await isSettled(writes)).toBe(false);
    fsyncs.release();
    const [first, second, , audit] = await writes;
    expect([first, second]).toEqual([1, 2]);
    expect(audit.outcome).toBe('success');

    vi.restoreAllMocks();
    const held = await holdFsyncs(data.dir);
    const reset = store.setLoginState(box.id, 0, null);
    await held.started;
    expect(await isSettled(reset)).toBe(false);
    held.release();
    await reset;
    expect((await store.findMailbox('alice'))!.failedLogins).toBe(0);
  });
});
