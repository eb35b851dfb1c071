import { readlinkSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { tempContext } from '../helpers/temp-context.ts';
import { embedded, openEmbedded } from './embedded.ts';

let ctx: Awaited<ReturnType<typeof tempContext>>;

beforeEach(async () => {
  ctx = await tempContext();
  await ctx.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
});
afterEach(async () => {
  vi.restoreAllMocks();
  await ctx.cleanup();
});

const EIO = (): Error => Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });

/**
 * The disk fails the WAL's fsync (only that file's: the audio's own fsyncs succeed) and the
 * checkpoint that would make good for it: a group is committed that cannot be made durable.
 */
async function failWalFsyncAndCheckpoint(): Promise<void> {
  const probe = await open(join(ctx.dir, 'voicegate.db'), 'r');
  const proto = Object.getPrototypeOf(probe) as FileHandle;
  await probe.close();
  const sync = proto.sync;
  vi.spyOn(proto, 'sync').mockImplementation(async function (this: FileHandle) {
    if (readlinkSync(`/proc/self/fd/${this.fd}`).endsWith('-wal')) throw EIO();
    return sync.call(this);
  });
  const { db } = embedded(ctx).store;
  const prepare = db.prepare.bind(db);
  vi.spyOn(db, 'prepare').mockImplementation((sql: string) => {
    if (/wal_checkpoint/i.test(sql)) throw EIO();
    return prepare(sql);
  });
}

describe('a deposit whose commit cannot be made durable', () => {
  it('fails, keeps the audio its committed row names, and says the store is unavailable', async () => {
    await failWalFsyncAndCheckpoint();
    await expect(
      ctx.messages.deposit({ mailbox: '201', audio: toneWav({ seconds: 2 }) }),
    ).rejects.toThrow(/EIO/);

    // The row was committed (the fsync came after the COMMIT): its audio is still there.
    const box = (await ctx.store.findMailbox('201'))!;
    const rows = await ctx.store.listMessages(box.id);
    expect(rows).toHaveLength(1);
    expect((await ctx.audio.read(rows[0]!.audio.key)).byteLength).toBeGreaterThan(0);
    expect(await ctx.health()).toMatch(/could not be made durable/);

    // Restarted (the disk sound again, the server's sweep run): no row names missing audio.
    vi.restoreAllMocks();
    await ctx.close();
    const reopened = await openEmbedded(ctx.dir, { sweep: true });
    try {
      expect(await reopened.health()).toBeNull();
      for (const m of await reopened.store.listMessages(box.id))
        expect((await reopened.audio.read(m.audio.key)).byteLength).toBeGreaterThan(0);
    } finally {
      await reopened.close();
    }
  });

  it('still removes the audio of a deposit whose row was not committed', async () => {
    const box = (await ctx.store.findMailbox('201'))!;
    const { audio } = embedded(ctx);
    const key = await audio.put(toneWav({ seconds: 1 }));
    await audio.remove([key]);
    await expect(audio.read(key)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await ctx.store.listMessages(box.id)).toHaveLength(0);
  });
});
