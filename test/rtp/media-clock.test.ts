import { describe, expect, it } from 'vitest';
import { MediaClock } from '../../server/rtp/media-clock.ts';
import type { Paced } from '../../server/rtp/media-clock.ts';

/** A sender that records the ideal times it was ticked at and stops after `count` ticks. */
function source(clock: MediaClock, count: number) {
  const ideals: number[] = [];
  const actual: number[] = [];
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const s: Paced = {
    tick(ideal) {
      ideals.push(ideal);
      actual.push(performance.now());
      if (ideals.length === count) {
        clock.remove(s);
        resolve();
      }
      return 1;
    },
  };
  clock.add(s);
  return { ideals, actual, done };
}

describe('MediaClock', () => {
  it('ticks every 20 ms without drift, for all sources from one timer', async () => {
    // No skipping ahead here, so a busy machine delays ticks but cannot remove them.
    const clock = new MediaClock({ maxCatchUpMs: 10_000 });
    const sources = Array.from({ length: 50 }, () => source(clock, 25));
    await Promise.all(sources.map((s) => s.done));
    expect(clock.size).toBe(0);
    const { ideals, actual } = sources[0]!;
    for (let i = 1; i < ideals.length; i++) expect(ideals[i]! - ideals[i - 1]!).toBeCloseTo(20, 6);
    // One ticker, not one per source: the sources fall into 4 phases of the period, 5 ms apart,
    // and every source of a phase saw the same ideal times.
    const offsets = new Set<number>();
    for (const s of sources) {
      for (let i = 1; i < s.ideals.length; i++)
        expect(s.ideals[i]! - s.ideals[i - 1]!).toBeCloseTo(20, 6);
      const offset = Math.round((((s.ideals[0]! - ideals[0]!) % 20) + 20) % 20);
      expect(offset % 5).toBe(0);
      offsets.add(offset);
    }
    expect(offsets.size).toBe(4);
    // Never early, and the last tick is not behind by the sum of every tick's lateness.
    for (let i = 0; i < ideals.length; i++) expect(actual[i]! - ideals[i]!).toBeGreaterThan(-0.5);
    expect(actual.at(-1)! - ideals.at(-1)!).toBeLessThan(150);
    const stats = clock.stats();
    expect(stats.packets).toBe(50 * 25);
    expect(stats.ticks).toBeGreaterThanOrEqual(25);
    expect(stats.ticks).toBeLessThanOrEqual(26);
    expect(stats.p50Ms).toBeLessThanOrEqual(stats.p99Ms);
    expect(stats.p99Ms).toBeLessThanOrEqual(stats.maxMs);
    clock.resetStats();
    expect(clock.stats()).toMatchObject({ packets: 0, maxMs: 0, p99Ms: 0 });
  });

  it('skips ahead after the event loop was blocked, instead of bursting', async () => {
    const clock = new MediaClock({ maxCatchUpMs: 60 });
    const s = source(clock, 8);
    await new Promise((r) => setTimeout(r, 30));
    const until = performance.now() + 200;
    while (performance.now() < until); // block the loop for 200 ms
    await s.done;
    expect(clock.stats().skippedTicks).toBeGreaterThanOrEqual(7);
    expect(clock.stats().maxMs).toBeGreaterThan(0);
  });

  it('survives a sender that throws', async () => {
    const clock = new MediaClock();
    clock.add({
      tick() {
        throw new Error('bug');
      },
    });
    const s = source(clock, 3);
    await s.done;
    expect(clock.size).toBe(0);
  });

  it('sends a due tick from poll(), before its timer runs, and only when due', () => {
    let now = 1000;
    const clock = new MediaClock({ now: () => now, phases: 1 });
    const ticked: number[] = [];
    const s: Paced = { tick: (ideal) => (ticked.push(ideal), 1) };
    clock.add(s);
    try {
      clock.poll(); // the first tick is due at once
      expect(ticked).toEqual([1000]);
      now = 1019;
      clock.poll(); // not yet: the next is due at 1020
      expect(ticked).toEqual([1000]);
      now = 1020.5;
      clock.poll();
      expect(ticked).toEqual([1000, 1020]);
      clock.poll(); // once per tick
      expect(ticked).toEqual([1000, 1020]);
    } finally {
      clock.remove(s);
    }
  });
});
