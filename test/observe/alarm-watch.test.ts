import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Observers } from '../../server/domain/observe.ts';
import { createLogger } from '../../server/log.ts';
import { AlarmWatch } from '../../server/observe/alarm-watch.ts';

/** The queue's oldest pending item and the clock are the test's; the disk is roomy. */
function watch() {
  const logs: { msg: string; alarm?: { kind: string; state: string; subject: string } }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(l));
      done();
    },
  });
  const observers = new Observers();
  const state = { now: 10_000_000, oldest: null as number | null, store: null as string | null };
  const w = new AlarmWatch({
    observers,
    log: createLogger('info', sink),
    diskFree: async () => 10 * 1024 ** 3,
    oldestPendingAt: async () => state.oldest,
    storeHealth: async () => state.store,
    diskFreeMinMB: 100,
    queueStuckMinutes: 30,
    checkSeconds: 60,
    now: () => state.now,
  });
  const said = () => logs.filter((l) => l.alarm).map((l) => `${l.alarm!.state} ${l.alarm!.kind}`);
  return { w, observers, state, said };
}

describe('the alarm watch', () => {
  it('raises queue-stuck once the oldest pending item is older than the limit, and clears it when it moves', async () => {
    const { w, state, said } = watch();
    state.oldest = state.now - 29 * 60_000;
    await w.check();
    expect(said()).toEqual([]);
    state.now += 2 * 60_000;
    await w.check();
    await w.check();
    expect(said()).toEqual(['raised queue-stuck']);
    state.oldest = null;
    await w.check();
    await w.check();
    expect(said()).toEqual(['raised queue-stuck', 'cleared queue-stuck']);
    await w.close();
  });

  it('raises store-unavailable while the store says it is, and clears it when it answers again', async () => {
    const { w, state, said } = watch();
    await w.check();
    state.store = 'store unavailable: committed deposits could not be made durable (EIO)';
    await w.check();
    await w.check();
    expect(said()).toEqual(['raised store-unavailable']);
    expect(w.active()[0]!.detail).toContain('could not be made durable');
    state.store = null;
    await w.check();
    expect(said()).toEqual(['raised store-unavailable', 'cleared store-unavailable']);
    await w.close();
  });

  it('follows the PBX registration and a peer watch through the same board', async () => {
    const { w, observers, said } = watch();
    observers.emit({ event: 'registration', registered: true, detail: 'sip:pbx: 200 OK' });
    observers.emit({ event: 'registration', registered: false, detail: 'sip:pbx: 403 Forbidden' });
    observers.emit({ event: 'registration', registered: false, detail: 'sip:pbx: 408 Timeout' });
    w.set('peer-down', 'central', true, 'no heartbeat for 3 beats');
    observers.emit({ event: 'registration', registered: true, detail: 'sip:pbx: 200 OK' });
    expect(said()).toEqual([
      'raised pbx-unregistered',
      'raised peer-down',
      'cleared pbx-unregistered',
    ]);
    expect(w.active().map((a) => `${a.kind} ${a.subject}`)).toEqual(['peer-down central']);
    await w.close();
  });
});
