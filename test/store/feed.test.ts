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

interface Received {
  change: Change;
  at: number;
}

let data: TempData;
let ctx: Context;
let alice: Mailbox;
let bob: Mailbox;
let received: Received[];
let unsubscribe: () => void;

beforeEach(async () => {
  data = tempData();
  ctx = data.open();
  alice = await ctx.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  bob = await ctx.mailboxes.add({ name: 'bob', extension: '202' }, '1234');
  received = [];
  unsubscribe = ctx.store.feed.subscribe((change) =>
    received.push({ change, at: performance.now() }),
  );
});

afterEach(async () => {
  unsubscribe();
  await ctx.close();
  data.remove();
});

/** What a channel acts on: who, what happened, to which message, and its state after. */
function summary(
  c: Change,
): [string, Change['kind'], string | null, Change['state'], string | null] {
  const name =
    c.mailboxId === alice.id ? 'alice' : c.mailboxId === bob.id ? 'bob' : `mailbox ${c.mailboxId}`;
  return [name, c.kind, c.messageId, c.state, c.folder && `${c.folder}/${c.uid}`];
}

/** A move is one change written as two entries (removed, added) sharing a modseq. */
function changeModseqs(changes: Change[]): number[] {
  return changes
    .filter(
      (c, i) =>
        !(
          c.kind === 'added' &&
          changes[i - 1]?.kind === 'removed' &&
          changes[i - 1]?.messageId === c.messageId
        ),
    )
    .map((c) => c.modseq);
}

function expectRising(values: number[], what: string): void {
  for (let i = 1; i < values.length; i++)
    expect(values[i], `${what} at ${i}: ${values.join(', ')}`).toBeGreaterThan(values[i - 1]!);
}

/** Waits until a received change matches, or fails naming what never came. */
async function arrival(
  what: string,
  match: (c: Change) => boolean,
  timeoutMs = 5000,
): Promise<Received> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const hit = received.find((r) => match(r.change));
    if (hit) return hit;
    if (performance.now() > deadline)
      throw new Error(
        `no ${what} change within ${timeoutMs} ms; received: ${JSON.stringify(received)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('the change feed', () => {
  it("delivers this process's changes in journal order, as changesSince reports them", async () => {
    const aliceStart = await ctx.store.highestModseq(alice.id);
    const bobStart = await ctx.store.highestModseq(bob.id);

    const [m] = await ctx.messages.deposit({ mailbox: 'alice', audio: RECORDING });
    const [b] = await ctx.messages.deposit({ mailbox: 'bob', audio: RECORDING });
    const acted = [];
    for (const action of ['play', 'save', 'delete', 'undelete'] as const)
      acted.push(await ctx.messages.act(alice.id, m!.id, action));
    await ctx.messages.act(bob.id, b!.id, 'delete');
    acted.push(await ctx.messages.act(alice.id, m!.id, 'delete'));
    await ctx.messages.purge(alice.id, [m!.id]);
    await ctx.messages.purge(bob.id, [b!.id]);

    // A delete moves the message to the trash and an undelete back, each time with a new UID.
    expect(received.map((r) => summary(r.change))).toEqual([
      ['alice', 'added', m!.id, 'new', 'inbox/1'],
      ['bob', 'added', b!.id, 'new', 'inbox/1'],
      ['alice', 'changed', m!.id, 'old', 'inbox/1'],
      ['alice', 'changed', m!.id, 'saved', 'inbox/1'],
      ['alice', 'removed', m!.id, 'deleted', 'inbox/1'],
      ['alice', 'added', m!.id, 'deleted', 'trash/1'],
      ['alice', 'removed', m!.id, 'saved', 'trash/1'],
      ['alice', 'added', m!.id, 'saved', 'inbox/2'],
      ['bob', 'removed', b!.id, 'deleted', 'inbox/1'],
      ['bob', 'added', b!.id, 'deleted', 'trash/1'],
      ['alice', 'removed', m!.id, 'deleted', 'inbox/2'],
      ['alice', 'added', m!.id, 'deleted', 'trash/2'],
      ['alice', 'removed', m!.id, null, 'trash/2'],
      ['bob', 'removed', b!.id, null, 'trash/1'],
    ]);
    const changes = received.map((r) => r.change);
    expectRising(
      changes.map((c) => c.seq),
      'seq',
    );
    const ofAlice = changes.filter((c) => c.mailboxId === alice.id);
    const ofBob = changes.filter((c) => c.mailboxId === bob.id);
    expectRising([aliceStart, ...changeModseqs(ofAlice)], 'alice modseq');
    expectRising([bobStart, ...changeModseqs(ofBob)], 'bob modseq');
    // A message carries the modseq of the change that gave it its state (IMAP CONDSTORE).
    expect(acted.map((x) => x.modseq)).toEqual(changeModseqs(ofAlice).slice(1, 6));
    expect(acted.map((x) => `${x.folder}/${x.uid}`)).toEqual([
      'inbox/1',
      'inbox/1',
      'trash/1',
      'inbox/2',
      'trash/2',
    ]);
    expect(await ctx.store.highestModseq(alice.id)).toBe(ofAlice.at(-1)!.modseq);

    // A client that reconnects catches up with exactly what a subscriber saw.
    expect(await ctx.store.changesSince(alice.id, aliceStart)).toEqual(ofAlice);
    expect(await ctx.store.changesSince(bob.id, bobStart)).toEqual(ofBob);
    expect(await ctx.store.changesSince(alice.id, ofAlice[2]!.modseq)).toEqual(ofAlice.slice(3));
    expect(await ctx.store.changesSince(alice.id, ofAlice.at(-1)!.modseq)).toEqual([]);
  });

  // The child's exit is taken as the moment runCli resolves (its pipes close as it exits).
  it("delivers another process's commits within a second of it exiting", async () => {
    const file = join(data.dir, 'message.wav');
    writeFileSync(file, RECORDING);

    const deposit = await runCli(['--config', data.configFile, 'deposit', 'alice', file]);
    const depositExited = performance.now();
    expect(deposit.code, deposit.stderr).toBe(0);
    const storedId = /^stored (\S+) in alice/.exec(deposit.stdout)?.[1];
    expect(storedId, deposit.stdout).toBeDefined();
    const added = await arrival('added', (c) => c.kind === 'added' && c.mailboxId === alice.id);
    expect(summary(added.change)).toEqual(['alice', 'added', storedId, 'new', 'inbox/1']);
    expect(added.at - depositExited, 'ms from the CLI exiting to the change arriving').toBeLessThan(
      1000,
    );

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
    const changed = await arrival(
      'mailbox',
      (c) => c.kind === 'mailbox' && c.mailboxId === alice.id,
    );
    expect(changed.at - setExited, 'ms from the CLI exiting to the change arriving').toBeLessThan(
      1000,
    );
    expect(changed.change.seq).toBeGreaterThan(added.change.seq);
    expect(changed.change.modseq).toBeGreaterThan(added.change.modseq);
    expect((await ctx.mailboxes.resolve('alice')).fullName).toBe('Alice Liddell');

    expect(received.map((r) => summary(r.change))).toEqual([
      ['alice', 'added', storedId, 'new', 'inbox/1'],
      ['alice', 'mailbox', null, null, null],
    ]);
  });

  it("hears another process's commit from the WAL file at once, not at the next poll", async () => {
    // A connection whose poll is ten minutes away: only the WAL watch can tell it.
    const watching = new SqliteStore(join(data.dataDir, 'voicegate.db'), {
      feedIntervalMs: 600_000,
    });
    const heard: Received[] = [];
    const stop = watching.feed.subscribe((change) => heard.push({ change, at: performance.now() }));
    try {
      for (let i = 0; i < 3; i++) {
        const file = join(data.dir, `message-${i}.wav`);
        writeFileSync(file, RECORDING);
        const deposit = await runCli(['--config', data.configFile, 'deposit', 'alice', file]);
        const exited = performance.now();
        expect(deposit.code, deposit.stderr).toBe(0);
        const id = /^stored (\S+) in alice/.exec(deposit.stdout)?.[1];
        const deadline = exited + 2000;
        while (!heard.some((h) => h.change.messageId === id) && performance.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 5));
        const hit = heard.find((h) => h.change.messageId === id);
        expect(hit, `deposit ${i}: the watching connection never heard of it`).toBeDefined();
        expect(hit!.change.kind).toBe('added');
        expect(hit!.at - exited, `deposit ${i}: ms from the CLI exiting`).toBeLessThan(200);
      }
    } finally {
      stop();
      watching.db.close();
    }
  });
});
