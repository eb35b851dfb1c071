import { monotonicFactory } from 'ulid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DomainDeps } from '../../server/domain/deps.ts';
import { MailboxService } from '../../server/domain/mailbox-service.ts';
import { MessageService } from '../../server/domain/message-service.ts';
import { DEFAULT_POLICY } from '../../server/domain/policy.ts';
import { inspectWav } from '../../server/media/wav.ts';
import { toneWav } from '../../server/media/tone.ts';
import { tempContext } from '../helpers/temp-context.ts';

const HOUR = 3_600_000;

/** Services over a real store in a temporary folder, with a clock the test moves. */
async function setup() {
  const ctx = await tempContext();
  const clock = { now: Date.UTC(2026, 0, 1) };
  const deps: DomainDeps = {
    store: ctx.store,
    audio: ctx.audio,
    inspectAudio: inspectWav,
    policy: {
      ...DEFAULT_POLICY,
      minMessageSeconds: 1,
      maxMessageSeconds: 10,
      lockout: { failures: 3, minutes: 15 },
    },
    housekeeping: {
      deleteAfterHours: { new: 0, unopened: 0, old: 24, saved: 0 },
      purgeDeletedAfterHours: 48,
    },
    playbackOrder: 'fifo',
    serverName: 'test-server',
    newVoicemailId: monotonicFactory(),
    defaults: { locale: 'en-US', timeZone: 'UTC' },
    log: { info() {}, warn() {} },
    now: () => clock.now,
    scryptCost: { N: 1024, r: 8, p: 1 },
  };
  const mailboxes = new MailboxService(deps);
  const messages = new MessageService(deps, mailboxes);
  return { ctx, clock, mailboxes, messages };
}

let t: Awaited<ReturnType<typeof setup>>;
beforeEach(async () => {
  t = await setup();
});
afterEach(async () => {
  await t.ctx.cleanup();
});

async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code ?? 'OTHER';
  }
  return 'resolved';
}

const wav = (seconds = 2): Uint8Array => toneWav({ seconds });

describe('mailboxes', () => {
  it('finds a mailbox by name or extension; names are case-sensitive', async () => {
    await t.mailboxes.add({ name: 'alice ', extension: '201' }, '1234');
    await t.mailboxes.add({ name: 'Alice', extension: '202' }, '1234');
    expect((await t.mailboxes.resolve('201')).name).toBe('alice');
    expect((await t.mailboxes.resolve('alice')).extension).toBe('201');
    expect((await t.mailboxes.resolve('Alice')).extension).toBe('202');
    expect(await errorCode(t.mailboxes.resolve('ALICE'))).toBe('NOT_FOUND');
  });

  it("refuses duplicate names and extensions, and a name that is another mailbox's extension", async () => {
    await t.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
    expect(await errorCode(t.mailboxes.add({ name: 'alice', extension: '299' }, '1234'))).toBe(
      'ALREADY_EXISTS',
    );
    expect(await errorCode(t.mailboxes.add({ name: 'bob', extension: '201' }, '1234'))).toBe(
      'ALREADY_EXISTS',
    );
    expect(await errorCode(t.mailboxes.add({ name: '201', extension: '299' }, '1234'))).toBe(
      'ALREADY_EXISTS',
    );
    expect(await errorCode(t.mailboxes.add({ name: 'carol', extension: '203' }, '12'))).toBe(
      'INVALID_INPUT',
    );
    expect((await t.mailboxes.list()).map((m) => m.name)).toEqual(['alice']);
  });

  it('an e-mail mode needs an address; bad zones are refused', async () => {
    expect(await errorCode(t.mailboxes.add({ name: 'a', emailMode: 'copy' }, '1234'))).toBe(
      'INVALID_INPUT',
    );
    expect(await errorCode(t.mailboxes.add({ name: 'a', timeZone: 'Mars/Olympus' }, '1234'))).toBe(
      'INVALID_INPUT',
    );
    const m = await t.mailboxes.add(
      { name: 'a', email: 'a@example.com', emailMode: 'copy', timeZone: 'Asia/Tokyo' },
      '1234',
    );
    expect(m.timeZone).toBe('Asia/Tokyo');
  });
});

describe('authentication and lockout', () => {
  it('accepts the right code by name or extension and refuses a wrong one', async () => {
    await t.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
    expect(
      (await t.mailboxes.authenticate('201', '1234', { channel: 'imap', remote: '127.0.0.1' }))
        .name,
    ).toBe('alice');
    expect(
      await errorCode(
        t.mailboxes.authenticate('alice', '9999', { channel: 'web', remote: '127.0.0.1' }),
      ),
    ).toBe('AUTH_FAILED');
    expect(
      await errorCode(
        t.mailboxes.authenticate('nobody', '1234', { channel: 'web', remote: '127.0.0.1' }),
      ),
    ).toBe('AUTH_FAILED');
  });

  it('locks after repeated wrong codes from any channel, refuses even the right code, then unlocks', async () => {
    await t.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
    const ctx = { remote: '127.0.0.1' };
    expect(await errorCode(t.mailboxes.authenticate('201', '1', { ...ctx, channel: 'imap' }))).toBe(
      'AUTH_FAILED',
    );
    expect(await errorCode(t.mailboxes.authenticate('201', '2', { ...ctx, channel: 'web' }))).toBe(
      'AUTH_FAILED',
    );
    expect(
      await errorCode(t.mailboxes.authenticate('alice', '3', { ...ctx, channel: 'phone' })),
    ).toBe('AUTH_FAILED');
    expect(
      await errorCode(t.mailboxes.authenticate('alice', '1234', { ...ctx, channel: 'imap' })),
    ).toBe('AUTH_FAILED');
    t.clock.now += 16 * 60_000;
    expect(
      (await t.mailboxes.authenticate('alice', '1234', { ...ctx, channel: 'imap' })).name,
    ).toBe('alice');
  });

  it('a success resets the failure count', async () => {
    await t.mailboxes.add({ name: 'alice' }, '1234');
    const c = { channel: 'web' as const, remote: '::1' };
    await errorCode(t.mailboxes.authenticate('alice', '0', c));
    await errorCode(t.mailboxes.authenticate('alice', '0', c));
    await t.mailboxes.authenticate('alice', '1234', c);
    expect(await errorCode(t.mailboxes.authenticate('alice', '0', c))).toBe('AUTH_FAILED');
  });

  it('requires UMS access for IMAP and the web when asked', async () => {
    await t.mailboxes.add({ name: 'alice', umsAccess: false }, '1234');
    expect(
      await errorCode(
        t.mailboxes.authenticate('alice', '1234', {
          channel: 'imap',
          remote: 'x',
          requireUms: true,
        }),
      ),
    ).toBe('FORBIDDEN');
    expect(
      (await t.mailboxes.authenticate('alice', '1234', { channel: 'phone', remote: 'x' })).name,
    ).toBe('alice');
  });

  it('changing the code needs the old one and the policy', async () => {
    await t.mailboxes.add({ name: 'alice' }, '1234');
    expect(await errorCode(t.mailboxes.changeCode('alice', '0000', '5678', 'web', 'x'))).toBe(
      'AUTH_FAILED',
    );
    expect(await errorCode(t.mailboxes.changeCode('alice', '1234', '56', 'web', 'x'))).toBe(
      'INVALID_INPUT',
    );
    await t.mailboxes.changeCode('alice', '1234', '5678', 'web', 'x');
    expect(
      await errorCode(t.mailboxes.authenticate('alice', '1234', { channel: 'web', remote: 'x' })),
    ).toBe('AUTH_FAILED');
    expect(
      (await t.mailboxes.authenticate('alice', '5678', { channel: 'web', remote: 'x' })).name,
    ).toBe('alice');
  });
});

describe('messages', () => {
  it('deposits only messages within the length policy', async () => {
    await t.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
    expect(await errorCode(t.messages.deposit({ mailbox: '201', audio: wav(0.5) }))).toBe(
      'TOO_SHORT',
    );
    expect(await errorCode(t.messages.deposit({ mailbox: '201', audio: wav(11) }))).toBe(
      'TOO_LONG',
    );
    expect(
      await errorCode(t.messages.deposit({ mailbox: '201', audio: new Uint8Array(100) })),
    ).toBe('BAD_AUDIO');
    const [m] = await t.messages.deposit({
      mailbox: '201',
      audio: wav(2),
      callerNumber: '555\u0007123',
      callerName: ' Joe\n',
    });
    expect(m!.state).toBe('new');
    expect(m!.callerName).toBe('Joe');
    expect(m!.callerNumber).toBe('555 123');
    expect(m!.originServer).toBe('test-server');
    expect(m!.audio.durationMs).toBe(2000);
    const box = await t.mailboxes.resolve('alice');
    expect((await t.messages.list(box.id)).map((x) => x.id)).toEqual([m!.id]);
  });

  it('play, save, delete and undelete go through the same rules and journal', async () => {
    await t.mailboxes.add({ name: 'alice' }, '1234');
    const box = await t.mailboxes.resolve('alice');
    const [m] = await t.messages.deposit({ mailbox: 'alice', audio: wav() });
    const before = await t.ctx.store.highestModseq(box.id);
    expect((await t.messages.act(box.id, m!.id, 'play')).state).toBe('old');
    expect((await t.messages.act(box.id, m!.id, 'save')).state).toBe('saved');
    const deleted = await t.messages.act(box.id, m!.id, 'delete');
    expect(deleted).toMatchObject({ state: 'deleted', deletedFrom: 'saved' });
    expect((await t.messages.list(box.id, 'inbox')).length).toBe(0);
    expect((await t.messages.list(box.id, 'deleted')).map((x) => x.id)).toEqual([m!.id]);
    expect(await errorCode(t.messages.act(box.id, m!.id, 'save'))).toBe('INVALID_STATE');
    expect((await t.messages.act(box.id, m!.id, 'undelete')).state).toBe('saved');
    const changes = await t.ctx.store.changesSince(box.id, before);
    expect(changes.map((c) => [c.kind, c.state, `${c.folder}/${c.uid}`])).toEqual([
      ['changed', 'old', 'inbox/1'],
      ['changed', 'saved', 'inbox/1'],
      ['removed', 'deleted', 'inbox/1'],
      ['added', 'deleted', 'trash/1'],
      ['removed', 'saved', 'trash/1'],
      ['added', 'saved', 'inbox/2'],
    ]);
    // A no-op (play of a saved message) writes nothing.
    await t.messages.act(box.id, m!.id, 'play');
    expect((await t.ctx.store.changesSince(box.id, before)).length).toBe(6);
  });

  it("another mailbox's message is not found", async () => {
    await t.mailboxes.add({ name: 'alice' }, '1234');
    const bob = await t.mailboxes.add({ name: 'bob' }, '1234');
    const [m] = await t.messages.deposit({ mailbox: 'alice', audio: wav() });
    expect(await errorCode(t.messages.act(bob.id, m!.id, 'delete'))).toBe('NOT_FOUND');
    expect(await errorCode(t.messages.get(bob.id, m!.id))).toBe('NOT_FOUND');
  });

  it('purges only deleted messages and removes their audio', async () => {
    const alice = await t.mailboxes.add({ name: 'alice' }, '1234');
    const [m] = await t.messages.deposit({ mailbox: 'alice', audio: wav() });
    expect(await errorCode(t.messages.purge(alice.id, [m!.id]))).toBe('INVALID_STATE');
    await t.messages.act(alice.id, m!.id, 'delete');
    await t.messages.purge(alice.id, [m!.id]);
    expect(await t.ctx.store.getMessage(m!.id)).toBeNull();
    expect(await errorCode(t.ctx.audio.size(m!.audio.key))).toBe('NOT_FOUND');
  });
});

describe('hunt groups and forwarding', () => {
  it('broadcast copies a group message to each member and not to the group', async () => {
    const alice = await t.mailboxes.add({ name: 'alice' }, '1234');
    const bob = await t.mailboxes.add({ name: 'bob' }, '1234');
    const group = await t.mailboxes.add({ name: 'sales', extension: '300', kind: 'group' }, '1234');
    await t.mailboxes.setGroupMembers('300', ['alice', 'bob']);
    const copies = await t.messages.deposit({ mailbox: '300', audio: wav(), callerNumber: '555' });
    expect(copies.map((c) => c.mailboxId).sort()).toEqual([alice.id, bob.id].sort());
    expect(await t.messages.list(group.id)).toEqual([]);
    // Copies share the audio: purging one keeps the other's file.
    const [a, b] = copies;
    await t.messages.act(a!.mailboxId, a!.id, 'delete');
    await t.messages.purge(a!.mailboxId, [a!.id]);
    expect((await t.ctx.audio.read(b!.audio.key)).length).toBeGreaterThan(0);
  });

  it('a group without broadcast, or without members, keeps the message', async () => {
    const group = await t.mailboxes.add({ name: 'desk', kind: 'group', broadcast: false }, '1234');
    await t.mailboxes.add({ name: 'alice' }, '1234');
    await t.mailboxes.setGroupMembers('desk', ['alice']);
    const [m] = await t.messages.deposit({ mailbox: 'desk', audio: wav() });
    expect(m!.mailboxId).toBe(group.id);
    const empty = await t.mailboxes.add({ name: 'empty', kind: 'group' }, '1234');
    const [e] = await t.messages.deposit({ mailbox: 'empty', audio: wav() });
    expect(e!.mailboxId).toBe(empty.id);
  });

  it('groups have user members only', async () => {
    await t.mailboxes.add({ name: 'g1', kind: 'group' }, '1234');
    await t.mailboxes.add({ name: 'g2', kind: 'group' }, '1234');
    expect(await errorCode(t.mailboxes.setGroupMembers('g1', ['g2']))).toBe('INVALID_INPUT');
    expect(await errorCode(t.mailboxes.add({ name: 'u', broadcast: true }, '1234'))).toBe(
      'INVALID_INPUT',
    );
  });

  it('forwards a copy as new, but never a private message', async () => {
    const alice = await t.mailboxes.add({ name: 'alice' }, '1234');
    const bob = await t.mailboxes.add({ name: 'bob', extension: '202' }, '1234');
    const [m] = await t.messages.deposit({ mailbox: 'alice', audio: wav(), callerName: 'Joe' });
    await t.messages.act(alice.id, m!.id, 'save');
    const [copy] = await t.messages.forward(alice.id, m!.id, '202');
    expect(copy).toMatchObject({
      mailboxId: bob.id,
      state: 'new',
      callerName: 'Joe',
      forwardedFrom: 'alice',
    });
    expect((await t.messages.get(alice.id, m!.id)).state).toBe('saved');
    const [p] = await t.messages.deposit({ mailbox: 'alice', audio: wav(), private: true });
    expect(await errorCode(t.messages.forward(alice.id, p!.id, 'bob'))).toBe('FORBIDDEN');
    expect((await t.messages.list(bob.id)).length).toBe(1);
  });
});

describe('voicemail identities', () => {
  it('a deposit under an identity made before returns the stored copies and stores nothing', async () => {
    const alice = await t.mailboxes.add({ name: 'alice' }, '1234');
    const bob = await t.mailboxes.add({ name: 'bob' }, '1234');
    await t.mailboxes.add({ name: 'sales', extension: '300', kind: 'group' }, '1234');
    await t.mailboxes.setGroupMembers('300', ['alice', 'bob']);
    const copies = await t.messages.deposit({ mailbox: '300', audio: wav() });
    // One voicemail: every member's copy has its own id and the same identity, made here.
    expect(new Set(copies.map((c) => c.id)).size).toBe(2);
    expect(copies[0]!.identity).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}@test-server$/);
    expect(copies[1]!.identity).toBe(copies[0]!.identity);

    const again = await t.messages.deposit({
      mailbox: '300',
      audio: wav(),
      identity: copies[0]!.identity,
    });
    expect(again.sort((a, b) => a.mailboxId - b.mailboxId)).toEqual(
      copies.sort((a, b) => a.mailboxId - b.mailboxId),
    );
    expect(await t.messages.list(alice.id)).toHaveLength(1);
    expect(await t.messages.list(bob.id)).toHaveLength(1);
    expect(
      await errorCode(t.messages.deposit({ mailbox: 'alice', audio: wav(), identity: 'x' })),
    ).toBe('INVALID_INPUT');
  });

  it('a forward is a new voicemail, and identities rise in the order voicemail is recorded', async () => {
    await t.mailboxes.add({ name: 'alice' }, '1234');
    await t.mailboxes.add({ name: 'bob' }, '1234');
    const [first] = await t.messages.deposit({ mailbox: 'alice', audio: wav() });
    const [second] = await t.messages.deposit({ mailbox: 'alice', audio: wav() });
    expect(second!.identity > first!.identity).toBe(true);
    const [copy1] = await t.messages.forward(first!.mailboxId, first!.id, 'bob');
    const [copy2] = await t.messages.forward(first!.mailboxId, first!.id, 'bob');
    expect(new Set([first!.identity, copy1!.identity, copy2!.identity]).size).toBe(3);
  });
});

describe('housekeeping', () => {
  it('deletes by category and age, purges deleted messages after their hours', async () => {
    const alice = await t.mailboxes.add({ name: 'alice' }, '1234');
    const [played] = await t.messages.deposit({ mailbox: 'alice', audio: wav() });
    const [unplayed] = await t.messages.deposit({ mailbox: 'alice', audio: wav() });
    const [kept] = await t.messages.deposit({ mailbox: 'alice', audio: wav() });
    await t.messages.act(alice.id, played!.id, 'play');
    await t.messages.act(alice.id, kept!.id, 'save');
    t.clock.now += 25 * HOUR;
    expect(await t.messages.runHousekeeping()).toMatchObject({ deleted: 1, purged: 0 });
    expect(await t.messages.get(alice.id, played!.id)).toMatchObject({
      state: 'deleted',
      deletedFrom: 'old',
    });
    expect((await t.messages.get(alice.id, unplayed!.id)).state).toBe('new');
    expect((await t.messages.get(alice.id, kept!.id)).state).toBe('saved');
    t.clock.now += 47 * HOUR;
    expect(await t.messages.runHousekeeping()).toMatchObject({ deleted: 0, purged: 0 });
    t.clock.now += 2 * HOUR;
    expect(await t.messages.runHousekeeping()).toMatchObject({ deleted: 0, purged: 1 });
    expect(await t.ctx.store.getMessage(played!.id)).toBeNull();
    expect(await errorCode(t.ctx.audio.read(played!.audio.key))).toBe('NOT_FOUND');
  });
});

describe('greetings', () => {
  it('sets, replaces and removes greetings, removing replaced audio', async () => {
    await t.mailboxes.add({ name: 'alice' }, '1234');
    const first = await t.messages.setGreeting('alice', 'unavailable', wav(3));
    const second = await t.messages.setGreeting('alice', 'unavailable', wav(4));
    expect(await errorCode(t.ctx.audio.read(first.audio.key))).toBe('NOT_FOUND');
    const list = await t.messages.greetings('alice');
    expect(list.map((g) => [g.kind, g.audio.durationMs])).toEqual([['unavailable', 4000]]);
    await t.messages.removeGreeting('alice', 'unavailable');
    expect(await errorCode(t.ctx.audio.read(second.audio.key))).toBe('NOT_FOUND');
    expect(await errorCode(t.messages.removeGreeting('alice', 'busy'))).toBe('NOT_FOUND');
  });
});
