/**
 * Log-ins on a full disk: a wrong code that cannot be recorded must not leave the door open for
 * the right one. Every attempt is put on record before its code is checked, so while nothing can
 * be written every log-in is refused (and none is let through uncounted); once there is room
 * again the right code logs in.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../../server/context.ts';
import { isVoicegateError } from '../../server/domain/errors.ts';
import { makeTempDir, tempData, type TempData } from '../helpers/temp-data.ts';

const CODE = '2468';
const WRONG = '1357';

let mountPoint: string;
let mounted = false;
let data: TempData;
let ctx: Context | undefined;

beforeAll(() => {
  mountPoint = makeTempDir('voicegate-full-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint], { stdio: 'pipe' });
    mounted = true;
  } catch (err) {
    const why = String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim();
    throw new Error(
      `disk-full tests need a 2 MB tmpfs and could not mount one on ${mountPoint} (run as root): ${why}`,
    );
  }
  data = tempData({ dataDir: mountPoint });
});

afterAll(async () => {
  await ctx?.close();
  if (mounted) execFileSync('umount', [mountPoint]);
  rmdirSync(mountPoint);
  data?.remove();
});

/** Writes a file until the disk has no byte left. */
function fillDisk(file: string): void {
  const fd = openSync(file, 'w');
  try {
    for (const size of [64 * 1024, 4096, 1]) {
      const chunk = Buffer.alloc(size);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch {
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return isVoicegateError(err) ? err.code : String(err);
  }
}

describe('log-ins on a full disk', () => {
  it('refuses the right code after wrong ones that could not be recorded, and lets it in once there is room', async () => {
    ctx = await data.open();
    await ctx.mailboxes.add({ name: 'alice' }, CODE);
    const filler = join(mountPoint, 'filler');
    fillDisk(filler);
    // The store can write nothing now.
    expect(await outcome(ctx.mailboxes.update('alice', { fullName: 'Alice' }))).toBe(
      'STORAGE_FULL',
    );

    const login = (code: string, remote: string) =>
      outcome(ctx!.mailboxes.authenticate('alice', code, { channel: 'imap', remote }));
    const wrong: string[] = [];
    for (let i = 0; i < 8; i++) wrong.push(await login(WRONG, `10.0.0.${i}`));
    // Not counted, so not checked: refused as for a moment unavailable, never let through.
    expect(wrong).toEqual(Array(8).fill('UNAVAILABLE'));
    expect(await login(CODE, '10.0.1.1'), 'the right code after 8 unrecorded wrong ones').not.toBe(
      'ok',
    );

    // An unknown mailbox is answered the same, so a full disk does not tell which exist.
    expect(
      await outcome(
        ctx.mailboxes.authenticate('nobody', CODE, { channel: 'imap', remote: '10.0.2.1' }),
      ),
    ).toBe('UNAVAILABLE');

    rmSync(filler);
    expect(await login(CODE, '10.0.1.1')).toBe('ok');
  });
});
