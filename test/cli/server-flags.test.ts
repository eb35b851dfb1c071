import { describe, expect, it } from 'vitest';
import {
  JEMALLOC_CONF,
  missingServerEnv,
  missingServerFlags,
  serverEnv,
} from '../../bin/server-flags.js';

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
  const absent = (): undefined => undefined;
  const present = (): string => '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

  it("sets malloc's arenas, its fixed mmap threshold and libuv's pool, keeping the caller's values", () => {
    expect(serverEnv({ PATH: '/bin' }, absent)).toEqual({
      PATH: '/bin',
      MALLOC_ARENA_MAX: '2',
      MALLOC_MMAP_THRESHOLD_: '131072',
      UV_THREADPOOL_SIZE: '16',
    });
    expect(
      serverEnv({ MALLOC_MMAP_THRESHOLD_: '65536', UV_THREADPOOL_SIZE: '4' }, absent),
    ).toMatchObject({
      MALLOC_MMAP_THRESHOLD_: '65536',
      UV_THREADPOOL_SIZE: '4',
    });
  });

  it('preloads jemalloc where it is installed, with settings that give freed memory back', () => {
    expect(serverEnv({ PATH: '/bin' }, present)).toEqual({
      PATH: '/bin',
      MALLOC_ARENA_MAX: '2',
      MALLOC_MMAP_THRESHOLD_: '131072',
      UV_THREADPOOL_SIZE: '16',
      LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
      MALLOC_CONF: 'background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:2',
    });
    expect(JEMALLOC_CONF).toContain('background_thread:true');
  });

  it("keeps the caller's preload and jemalloc settings, and glibc's malloc when asked", () => {
    expect(serverEnv({ MALLOC_CONF: 'narenas:1' }, present)).toMatchObject({
      LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
      MALLOC_CONF: 'narenas:1',
    });
    const own = serverEnv({ LD_PRELOAD: '/opt/libtcmalloc.so' }, present);
    expect(own.LD_PRELOAD).toBe('/opt/libtcmalloc.so');
    expect(own).not.toHaveProperty('MALLOC_CONF');
    const glibc = serverEnv({ VOICEGATE_ALLOCATOR: 'glibc' }, present);
    expect(glibc).not.toHaveProperty('LD_PRELOAD');
    expect(glibc).not.toHaveProperty('MALLOC_CONF');
  });

  it('starts over only while some of it is missing', () => {
    expect(missingServerEnv({}, present)).toBe(true);
    // Once started over with it, nothing is missing: no second start.
    expect(missingServerEnv(serverEnv({}, present), present)).toBe(false);
    expect(missingServerEnv(serverEnv({}, absent), absent)).toBe(false);
    expect(missingServerEnv(serverEnv({ VOICEGATE_ALLOCATOR: 'glibc' }, present), present)).toBe(
      false,
    );
  });
});
