import { monotonicFactory, isValid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { pooledRandom } from '../../server/context.ts';

describe("voicemail ids' random source", () => {
  it('gives values in [0, 1), spread over all 32 characters, fresh after each refill', () => {
    const random = pooledRandom();
    const draws = Array.from({ length: 3 * 4096 + 7 }, random);
    expect(draws.every((v) => v >= 0 && v < 1)).toBe(true);
    const counts = new Array<number>(32).fill(0);
    for (const v of draws) counts[Math.floor(v * 32)]!++;
    // About 384 each; a character never drawn, or drawn twice its share, is not chance.
    expect(Math.min(...counts)).toBeGreaterThan(250);
    expect(Math.max(...counts)).toBeLessThan(520);
    // A refill draws new bytes: the second pool is not the first again.
    expect(draws.slice(4096, 8192)).not.toEqual(draws.slice(0, 4096));
  });

  it('makes valid, distinct, ordered ids through ulid', () => {
    const next = monotonicFactory(pooledRandom());
    const ids = Array.from({ length: 5000 }, () => next());
    expect(ids.every(isValid)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });
});
