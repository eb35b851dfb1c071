import { randomBytes } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CheckpointDone, CheckpointerOptions } from '../../server/store/checkpointer.ts';
import { SqliteStore } from '../../server/store/sqlite-store.ts';
import { makeTempDir } from '../helpers/temp-data.ts';
import { addMailbox, deposit } from '../store/contract/fixtures.ts';

let dir: string;
let store: SqliteStore | null = null;

beforeEach(() => {
  dir = makeTempDir();
});
afterEach(async () => {
  await store?.close();
  store = null;
  rmSync(dir, { recursive: true, force: true });
});

const MiB = 1024 * 1024;
const dbFile = (): string => join(dir, 'voicegate.db');
const size = (file: string): number => statSync(file, { throwIfNoEntry: false })?.size ?? 0;

function open(checkpoints: Partial<CheckpointerOptions>): SqliteStore {
  store = new SqliteStore(dbFile(), { checkpoints });
  return store;
}

/** A message with a rendition of `bytes` bytes: one commit of that many bytes of pages. */
async function bigCommit(s: SqliteStore, mailboxId: number, bytes: number): Promise<Buffer> {
  const message = await deposit(s, mailboxId);
  const data = randomBytes(bytes);
  await s.putRendition(message.id, 'mp3', data);
  return data;
}

/** Resolves at the first checkpoint reported that `accept` takes. */
function checkpointWhere(accept: (done: CheckpointDone) => boolean): {
  onCheckpoint: (done: CheckpointDone) => void;
  seen: Promise<CheckpointDone>;
} {
  let resolve!: (done: CheckpointDone) => void;
  const seen = new Promise<CheckpointDone>((r) => (resolve = r));
  return { onCheckpoint: (done) => accept(done) && resolve(done), seen };
}

describe('WAL checkpoints of the embedded store', () => {
  it('never run inside a commit of the serving connection', async () => {
    const s = open({ startAfterCommits: Number.MAX_SAFE_INTEGER });
    const box = await addMailbox(s, 'alice', '201');
    const before = size(dbFile());
    // 8 MiB in one commit: past the 1,000 pages at which SQLite checkpoints in the COMMIT itself.
    await bigCommit(s, box.id, 8 * MiB);
    expect(size(`${dbFile()}-wal`)).toBeGreaterThan(8 * MiB);
    expect(size(dbFile())).toBe(before);
  });

  it('copy the WAL into the database on another thread and empty it once commits stop', async () => {
    const truncated = checkpointWhere((d) => d.mode === 'TRUNCATE' && d.busy === 0);
    const s = open({
      startAfterCommits: 1,
      intervalMs: 10,
      quietMs: 50,
      onCheckpoint: truncated.onCheckpoint,
    });
    const box = await addMailbox(s, 'alice', '201');
    const data = await bigCommit(s, box.id, 8 * MiB);
    await truncated.seen;

    expect(size(`${dbFile()}-wal`)).toBe(0);
    expect(size(dbFile())).toBeGreaterThan(8 * MiB);
    const [message] = await s.listMessages(box.id);
    const read = await s.getRendition(message!.id, 'mp3');
    expect(Buffer.from(read!).equals(data)).toBe(true);
  });

  it('do not start for transactions that changed nothing, as an idle delivery queue polled', async () => {
    let starts = 0;
    const s = open({ startAfterCommits: 2, onStart: () => starts++ });
    const box = await addMailbox(s, 'alice', '201');
    for (let poll = 0; poll < 5; poll++) {
      const claimed = await s.claimDeliveries({
        target: 'smtp',
        holder: 'runner',
        now: Date.now(),
        leaseMs: 60_000,
        limit: 10,
      });
      expect(claimed).toEqual([]);
    }
    expect(starts).toBe(0);
    await deposit(s, box.id);
    expect(starts).toBe(1);
  });

  it('keep the WAL bounded while commits keep coming', async () => {
    const s = open({ startAfterCommits: 1, intervalMs: 5, quietMs: 60_000, boundFrames: 256 });
    const box = await addMailbox(s, 'alice', '201');
    // 40 MiB committed 256 KiB at a time, the next commit right after each.
    for (let i = 0; i < 160; i++) {
      await bigCommit(s, box.id, 256 * 1024);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(size(`${dbFile()}-wal`)).toBeLessThan(16 * MiB);
    expect(await s.listMessages(box.id)).toHaveLength(160);
  });
});
