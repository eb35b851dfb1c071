import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Context } from '../../server/context.ts';
import type { Mailbox } from '../../server/domain/mailbox.ts';
import type { Change } from '../../server/domain/message.ts';
import { toneWav } from '../../server/media/tone.ts';
import { SqliteStore } from '../../server/store/sqlite-store.ts';
import { runCli } from '../helpers/cli.ts';
import { tempData, type TempData } from '../helpers/temp-data.ts';

const RECORDING = toneWav({ seconds: 2 });

/** A wake-up as a consumer sees it, and when it came. */
interface Wake {
  mailboxId: number;
  modseq: number;
  at: number;
}

let data: TempData;
let ctx: Context;
let alice: Mailbox;
let received: Wake[];
let unsubscribe: () => void;

beforeEach(async () => {
  data = tempData();
  ctx = await data.open();
  alice = await ctx.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  received = [];
  unsubscribe = ctx.store.feed.subscribe((mailboxId, modseq) =>
    received.push({ mailboxId, modseq, at: performance.now() }),
  );
});

afterEach(async () => {
  unsubscribe();
  await ctx.close();
  data.remove();
});

/** What a channel acts on: what happened, to which message, and its state after. */
function summary(c: Change): [Change['kind'], string | null, Change['state'], string | null] {
  return [c.kind, c.messageId, c.state, c.folder && `${c.folder}/${c.uid}`];
}

/** Waits for a wake-up of alice's mailbox covering `modseq`, or fails saying what came. */
async function wakeCovering(modseq: number, timeoutMs = 5000): Promise<Wake> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const hit = received.find((w) => w.mailboxId === alice.id && w.modseq >= modseq);
    if (hit) return hit;
    if (performance.now() > deadline)
      throw new Error(
        `no wake-up for modseq ${modseq} within ${timeoutMs} ms; received: ${JSON.stringify(received)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// Store-level behaviour every back end shares (order, modseq, wake-ups, a second opened store)
// is in contract/journal.contract.ts; here is what only the embedded store's feed does: notice
// another process's commit through the database file.
describe('the change feed of the embedded store', () => {
  // The child's exit is taken as the moment runCli resolves (its pipes close as it exits).
  it("delivers another process's commits within a second of it exiting", async () => {
    const file = join(data.dir, 'message.wav');
    writeFileSync(file, RECORDING);

    const start = await ctx.store.highestModseq(alice.id);
    const deposit = await runCli(['--config', data.configFile, 'deposit', 'alice', file]);
    const depositExited = performance.now();
    expect(deposit.code, deposit.stderr).toBe(0);
    const storedId = /^stored (\S+) in alice/.exec(deposit.stdout)?.[1];
    expect(storedId, deposit.stdout).toBeDefined();
    const added = await wakeCovering(start + 1);
    expect(added.at - depositExited, 'ms from the CLI exiting to the wake-up').toBeLessThan(1000);
    const afterDeposit = await ctx.store.changesSince(alice.id, start);
    expect(afterDeposit.map(summary)).toEqual([['added', storedId, 'new', 'inbox/1']]);

    const set = await runCli([
      '--config',
      data.configFile,
      'mailbox',
      'set',
      'alice',
      '--full-name',
      'Alice Liddell',
    ]);
    const setExited = performance.now();
    expect(set.code, set.stderr).toBe(0);
    const changed = await wakeCovering(afterDeposit.at(-1)!.modseq + 1);
    expect(changed.at - setExited, 'ms from the CLI exiting to the wake-up').toBeLessThan(1000);
    expect((await ctx.mailboxes.resolve('alice')).fullName).toBe('Alice Liddell');
    const afterSet = await ctx.store.changesSince(alice.id, afterDeposit.at(-1)!.modseq);
    expect(afterSet.map(summary)).toEqual([['mailbox', null, null, null]]);
  });

  it("hears another process's commit from the WAL file at once, not at the next poll", async () => {
    // A connection whose poll is ten minutes away: only the WAL watch can tell it.
    const watching = new SqliteStore(join(data.dataDir, 'voicegate.db'), {
      feedIntervalMs: 600_000,
    });
    const heard: Wake[] = [];
    const stop = watching.feed.subscribe((mailboxId, modseq) =>
      heard.push({ mailboxId, modseq, at: performance.now() }),
    );
    try {
      for (let i = 0; i < 3; i++) {
        const file = join(data.dir, `message-${i}.wav`);
        writeFileSync(file, RECORDING);
        const deposit = await runCli(['--config', data.configFile, 'deposit', 'alice', file]);
        const exited = performance.now();
        expect(deposit.code, deposit.stderr).toBe(0);
        const modseq = await ctx.store.highestModseq(alice.id);
        const deadline = exited + 2000;
        const covers = (h: Wake) => h.mailboxId === alice.id && h.modseq >= modseq;
        while (!heard.some(covers) && performance.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 5));
        const hit = heard.find(covers);
        expect(hit, `deposit ${i}: the watching connection never heard of it`).toBeDefined();
        expect(hit!.at - exited, `deposit ${i}: ms from the CLI exiting`).toBeLessThan(200);
      }
    } finally {
      stop();
      watching.db.close();
    }
  });
});
