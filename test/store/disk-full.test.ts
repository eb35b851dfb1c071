import { execFileSync } from 'node:child_process';
import { readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../../server/context.ts';
import { isVoicegateError } from '../../server/domain/errors.ts';
import type { Message } from '../../server/domain/message.ts';
import { toneWav } from '../../server/media/tone.ts';
import { runCli } from '../helpers/cli.ts';
import { embedded } from './embedded.ts';
import { makeTempDir, tempData, type TempData } from '../helpers/temp-data.ts';

/** 18 s of 16-bit 8 kHz audio: about 288 KB, so a 3 MB disk holds fewer than ten. */
const RECORDING = toneWav({ seconds: 18 });
const MAILBOX = 'full';

let mountPoint: string;
let mounted = false;
let data: TempData;
let ctx: Context | undefined;

beforeAll(() => {
  mountPoint = makeTempDir('voicegate-full-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mountPoint], { stdio: 'pipe' });
    mounted = true;
  } catch (err) {
    const why = String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim();
    throw new Error(
      `disk-full tests need a 3 MB tmpfs and could not mount one on ${mountPoint} (run as root): ${why}`,
    );
  }
  // The config lives outside the small disk; only the store (database and audio) is on it.
  data = tempData({ dataDir: mountPoint });
});

afterAll(async () => {
  await ctx?.close();
  if (mounted) execFileSync('umount', [mountPoint]);
  rmdirSync(mountPoint);
  data?.remove();
});

/** Audio files in their final place, by key. */
function placedAudio(audioRoot: string): string[] {
  return readdirSync(audioRoot, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== 'tmp')
    .flatMap((e) => readdirSync(join(audioRoot, e.name)).map((f) => f.replace(/\.wav$/, '')))
    .sort();
}

describe('a full disk', () => {
  let stored: Message[] = [];
  let mailboxId: number;

  it('refuses the deposit that does not fit with STORAGE_FULL and leaves nothing behind', async () => {
    ctx = await data.open();
    mailboxId = (await ctx.mailboxes.add({ name: MAILBOX }, '1234')).id;
    let failure: unknown;
    for (let i = 0; i < 20 && failure === undefined; i++) {
      try {
        stored.push(
          ...(await ctx.messages.deposit({
            mailbox: MAILBOX,
            audio: RECORDING,
            callerNumber: `caller-${i}`,
          })),
        );
      } catch (err) {
        failure = err;
      }
    }
    expect(failure, '20 deposits of 288 KB fitted on a 3 MB disk').toBeDefined();
    expect(
      isVoicegateError(failure, 'STORAGE_FULL'),
      `expected STORAGE_FULL, got ${String(failure)}`,
    ).toBe(true);
    expect(stored.length).toBeGreaterThanOrEqual(5);

    expect(
      readdirSync(join(embedded(ctx).audio.root, 'tmp')),
      'temporary files left by the failed deposit',
    ).toEqual([]);
    expect(placedAudio(embedded(ctx).audio.root), 'audio files without a message').toEqual(
      stored.map((m) => m.audio.key).sort(),
    );
  });

  it('keeps every message stored before listed and playable', async () => {
    const listed = await ctx!.messages.list(mailboxId);
    expect(listed.map((m) => m.id).sort()).toEqual(stored.map((m) => m.id).sort());
    for (const m of listed)
      expect(
        Buffer.compare(await ctx!.audio.read(m.audio.key), RECORDING),
        `audio of ${m.id}`,
      ).toBe(0);
  });

  it('makes the CLI exit non-zero with one line on stderr', async () => {
    const file = join(data.dir, 'message.wav');
    writeFileSync(file, RECORDING);
    const result = await runCli(['--config', data.configFile, 'deposit', MAILBOX, file]);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    const lines = result.stderr.split('\n').filter(Boolean);
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^voicegate: no space left/);

    // The failed CLI deposit left no message, no audio and no temporary file either.
    expect((await ctx!.messages.list(mailboxId)).length).toBe(stored.length);
    expect(readdirSync(join(embedded(ctx!).audio.root, 'tmp'))).toEqual([]);
    expect(placedAudio(embedded(ctx!).audio.root)).toEqual(stored.map((m) => m.audio.key).sort());
  });

  it('takes deposits again once messages are deleted and purged, even after filling every byte it can', async () => {
    // Fill what is left with short messages: the store keeps room to record deletes and purges.
    const short = toneWav({ seconds: 1.5 });
    let refused = false;
    for (let i = 0; i < 200 && !refused; i++) {
      try {
        stored.push(
          ...(await ctx!.messages.deposit({
            mailbox: MAILBOX,
            audio: short,
            callerNumber: `short-${i}`,
          })),
        );
      } catch (err) {
        expect(isVoicegateError(err, 'STORAGE_FULL'), String(err)).toBe(true);
        refused = true;
      }
    }
    expect(refused, 'the small disk never filled up').toBe(true);
    const [first, second, ...kept] = stored;
    for (const m of [first!, second!]) await ctx!.messages.act(mailboxId, m.id, 'delete');
    await ctx!.messages.purge(mailboxId, [first!.id, second!.id]);
    expect(placedAudio(embedded(ctx!).audio.root)).toEqual(kept.map((m) => m.audio.key).sort());

    const [again] = await ctx!.messages.deposit({
      mailbox: MAILBOX,
      audio: RECORDING,
      callerNumber: 'after purge',
    });
    expect((await ctx!.messages.list(mailboxId)).map((m) => m.id).sort()).toEqual(
      [...kept, again!].map((m) => m.id).sort(),
    );
    expect(Buffer.compare(await ctx!.audio.read(again!.audio.key), RECORDING)).toBe(0);
    stored = [...kept, again!];
  });
});
