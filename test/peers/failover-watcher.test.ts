import { describe, expect, it } from 'vitest';
import type { FailbackMode } from '../../server/domain/failover.ts';
import {
  FailoverWatcher,
  type FailoverChange,
  type SavedFailover,
} from '../../server/peers/failover-watcher.ts';

/**
 * The watch of a central, round by round on a fake clock: the central answering or not, calls
 * on the backup, an administrator's request, the queue to the central; what the backup does
 * (live or not), what it saved, what it reported.
 */
function harness(failback: FailbackMode, saved: SavedFailover | null = null, mailPingMs = 0) {
  const world = {
    mailOnly: [] as string[],
    now: 1_000_000,
    up: true,
    calls: 0,
    request: false,
    queuedForCentral: 0,
    saved,
    changes: [] as FailoverChange[],
    handedBack: [] as number[],
    /** Queueing the hand-back fails this many more times (the store busy). */
    handBackFails: 0,
    errors: [] as string[],
  };
  const watcher = new FailoverWatcher({
    rules: { missedBeats: 3, failback },
    intervalMs: 10_000,
    timeoutMs: 60_000,
    beat: async () =>
      world.up ? { ok: true, queued: 0 } : { ok: false, problem: 'heartbeat: ECONNREFUSED' },
    callsInProgress: () => world.calls,
    handBack: async (since) => {
      if (world.handBackFails > 0) {
        world.handBackFails--;
        throw new Error('database is locked');
      }
      world.handedBack.push(since);
      world.queuedForCentral = 2;
    },
    caughtUp: async () => world.queuedForCentral === 0,
    takeFailbackRequest: () => {
      const r = world.request;
      world.request = false;
      return r;
    },
    load: () => world.saved,
    save: (s) => (world.saved = { ...s }),
    onChange: (c) => world.changes.push(c),
    onError: (err) => world.errors.push(err.message),
    now: () => world.now,
    mailPingMs,
    onMailOnly: (on, detail) => world.mailOnly.push(`${on} ${detail}`),
  });
  const round = async (): Promise<string> => {
    world.now += 10_000;
    await watcher.tick();
    return watcher.status().state;
  };
  /** The central dies: three beats missed, the backup goes live. */
  const failOver = async (): Promise<void> => {
    world.up = false;
    expect([await round(), await round(), await round()]).toEqual(['suspect', 'suspect', 'live']);
  };
  return { world, watcher, round, failOver };
}

describe('the watch of a central', () => {
  it('queues the hand-back again after it failed, or after a restart, from when the backup went live', async () => {
    const { world, round, failOver } = harness('manual');
    await failOver();
    const liveSince = world.now;
    world.up = true;
    world.handBackFails = 1;
    // The central answers again: the backup is returning, but queueing what it did failed.
    await expect(round()).rejects.toThrow('database is locked');
    expect(world.saved).toMatchObject({ state: 'returning', handBackDue: true });
    expect(world.handedBack).toEqual([]);
    // A restart now: the saved state says the hand-back is still due, and it is queued.
    const again = harness('manual', world.saved);
    again.world.now = world.now;
    expect(await again.round()).toBe('returning');
    expect(again.world.handedBack).toEqual([liveSince]);
    expect(again.world.saved).toMatchObject({
      handBackDue: false,
      handedBackUntil: again.world.now,
    });
  });

  it('reports a round that failed, started by itself, instead of leaving it unhandled', async () => {
    const errors: string[] = [];
    const broken = new FailoverWatcher({
      rules: { missedBeats: 3, failback: 'manual' },
      intervalMs: 60_000,
      timeoutMs: 60_000,
      beat: async () => {
        throw new Error('beat exploded');
      },
      callsInProgress: () => 0,
      handBack: async () => {},
      caughtUp: async () => true,
      takeFailbackRequest: () => false,
      load: () => null,
      save: () => {},
      onChange: () => {},
      onError: (err) => errors.push(err.message),
    });
    broken.start();
    await expect.poll(() => errors).toEqual(['beat exploded']);
    await broken.stop();
  });

  it('goes live after the configured missed beats, once, and reports each change once', async () => {
    const { world, watcher, round, failOver } = harness('manual');
    expect(await round()).toBe('standby');
    expect(watcher.isLive()).toBe(false);
    await failOver();
    expect(watcher.isLive()).toBe(true);
    expect(await round()).toBe('live');
    expect(world.changes.map((c) => `${c.from}>${c.to}`)).toEqual([
      'standby>suspect',
      'suspect>live',
    ]);
    expect(world.changes[1]!.detail).toBe('heartbeat: ECONNREFUSED');
    expect(world.saved).toMatchObject({ state: 'live', missed: 4, liveSince: world.now - 10_000 });
  });

  it('a beat in between resets the count: a central that answers is never failed over', async () => {
    const { world, round } = harness('manual');
    for (let i = 0; i < 5; i++) {
      world.up = false;
      await round();
      await round();
      world.up = true;
      expect(await round()).toBe('standby');
    }
  });

  it('manual: stays live with the central back until an administrator asks, then hands back', async () => {
    const { world, watcher, round, failOver } = harness('manual');
    await failOver();
    const liveSince = world.now;
    world.up = true;
    expect(await round()).toBe('returning');
    // The link healed: what was done since the backup went live goes to the central at once.
    expect(world.handedBack).toEqual([liveSince]);
    const returnedAt = world.now;
    world.now += 3_600_000;
    expect(await round()).toBe('returning');
    world.request = true;
    expect(await round()).toBe('handing-back');
    // Handing back: what was done since the central answered again.
    expect(world.handedBack).toEqual([liveSince, returnedAt]);
    expect(watcher.isLive()).toBe(true);
    expect(await round()).toBe('handing-back');
    world.queuedForCentral = 0;
    expect(await round()).toBe('standby');
    expect(watcher.isLive()).toBe(false);
    expect(world.saved).toMatchObject({ state: 'standby', liveSince: null, returnedAt: null });
  });

  it('graceful: hands back once no call is in progress', async () => {
    const { world, round, failOver } = harness('graceful');
    await failOver();
    world.calls = 1;
    world.up = true;
    expect(await round()).toBe('returning');
    world.now += 3_600_000;
    expect(await round()).toBe('returning');
    world.calls = 0;
    expect(await round()).toBe('handing-back');
  });

  it('automatic: hands back when calls end, or after the timeout with calls still going', async () => {
    const { world, round, failOver } = harness('automatic');
    await failOver();
    world.calls = 2;
    world.up = true;
    expect(await round()).toBe('returning');
    expect(await round()).toBe('returning');
    world.now += 50_000;
    expect(await round()).toBe('handing-back');
  });

  it('the central lost again while handing back: live again, the hand-back resumed later', async () => {
    const { world, round, failOver } = harness('graceful');
    await failOver();
    world.up = true;
    expect(await round()).toBe('handing-back');
    world.up = false;
    expect(await round()).toBe('live');
    world.up = true;
    expect(await round()).toBe('handing-back');
    // The first return queues from when the backup went live; each later one from where the
    // last one queued (what was queued before waits in the queue for the central).
    const liveSince = (world.saved as SavedFailover).liveSince!;
    expect(world.handedBack).toHaveLength(4);
    expect(world.handedBack[0]).toBe(liveSince);
    expect(world.handedBack[2]).toBe(world.handedBack[1]);
    expect(world.handedBack[3]).toBeGreaterThan(world.handedBack[2]!);
  });

  it('a restart resumes the saved state: a live backup stays live', async () => {
    const first = harness('manual');
    await first.failOver();
    const again = harness('manual', first.world.saved);
    expect(again.watcher.isLive()).toBe(true);
    again.world.up = false;
    expect(await again.round()).toBe('live');
    expect(again.world.changes).toEqual([]);
  });

  it('an administrator request while the central is still gone waits for its return', async () => {
    const { world, watcher, round, failOver } = harness('manual');
    await failOver();
    expect(await watcher.failback()).toBe('live');
    world.request = true;
    expect(await round()).toBe('live');
    expect(world.request).toBe(true);
    world.up = true;
    expect(await round()).toBe('handing-back');
  });

  it('mail pings arriving with the heartbeat silent keep it in standby, raised once; no pings, live', async () => {
    const { world, watcher, round } = harness('manual', null, 10_000);
    expect(await round()).toBe('standby');
    // A ping from before the heartbeat went silent is no sign the central still lives.
    watcher.mailPing(world.now);
    world.up = false;
    expect(await round()).toBe('suspect');
    for (let i = 0; i < 6; i++) {
      watcher.mailPing(world.now + 5_000);
      expect(await round()).toBe('standby');
    }
    expect(watcher.isLive()).toBe(false);
    expect(watcher.status()).toMatchObject({ mailOnly: true, lastMailPingAt: world.now - 5_000 });
    expect(world.mailOnly).toHaveLength(1);
    expect(world.mailOnly[0]).toMatch(/^true heartbeat: ECONNREFUSED; its mail pings still arrive/);
    // The pings stop too: once the last is two intervals old, the backup fails over at once.
    expect(await round()).toBe('standby');
    expect(await round()).toBe('live');
    expect(world.mailOnly).toHaveLength(2);
    expect(world.mailOnly[1]).toMatch(/^false heartbeat: ECONNREFUSED$/);
    expect(world.changes.map((c) => `${c.from}>${c.to} ${c.event}`)).toEqual([
      'standby>suspect missed',
      'suspect>standby mail-only',
      'standby>live missed',
    ]);
  });

  it('with mail pings off, pings change nothing', async () => {
    const { world, watcher, round, failOver } = harness('manual');
    watcher.mailPing(world.now + 15_000);
    await failOver();
    expect(world.mailOnly).toEqual([]);
    expect(await round()).toBe('live');
  });
});
