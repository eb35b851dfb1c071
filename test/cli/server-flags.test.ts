import { describe, expect, it } from 'vitest';
import { missingServerFlags, serverEnv } from '../../bin/server-flags.js';

describe('the flags serve and demo start over with', () => {
  it('adds the memory flags the caller did not give', () => {
    expect(missingServerFlags([], undefined)).toEqual([
      '--max-semi-space-size=2',
      '--optimize-for-size',
    ]);
    // Once started over, nothing is missing: no second start.
    expect(missingServerFlags(['--max-semi-space-size=2', '--optimize-for-size'], '')).toEqual([]);
  });

  it("keeps the caller's own value or --no- form, on the command line or in NODE_OPTIONS", () => {
    expect(missingServerFlags(['--max-semi-space-size=16'], '')).toEqual(['--optimize-for-size']);
    expect(missingServerFlags(['--no-optimize-for-size'], '')).toEqual(['--max-semi-space-size=2']);
    expect(
      missingServerFlags([], '--inspect  --max-semi-space-size=16 --no-optimize-for-size'),
    ).toEqual([]);
  });
});

describe('the environment serve and demo start over with', () => {
  it("sets malloc's arenas, its fixed mmap threshold and libuv's pool, keeping the caller's values", () => {
    expect(serverEnv({ PATH: '/bin' })).toEqual({
      PATH: '/bin',
      MALLOC_ARENA_MAX: '2',
      MALLOC_MMAP_THRESHOLD_: '131072',
      UV_THREADPOOL_SIZE: '16',
    });
    expect(serverEnv({ MALLOC_MMAP_THRESHOLD_: '65536', UV_THREADPOOL_SIZE: '4' })).toMatchObject({
      MALLOC_MMAP_THRESHOLD_: '65536',
      UV_THREADPOOL_SIZE: '4',
    });
  });
});
