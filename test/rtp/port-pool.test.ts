import { describe, expect, it } from 'vitest';
import { isRtpError } from '../../server/rtp/errors.ts';
import { PortPool } from '../../server/rtp/port-pool.ts';

describe('PortPool', () => {
  it('hands out even ports in range, round-robin, and refuses when exhausted', () => {
    const pool = new PortPool(10001, 10008);
    expect(pool.size).toBe(4);
    const got = [pool.acquire(), pool.acquire(), pool.acquire(), pool.acquire()];
    expect(got).toEqual([10002, 10004, 10006, 10008]);
    expect(pool.available).toBe(0);
    try {
      pool.acquire();
      throw new Error('no error');
    } catch (err) {
      expect(isRtpError(err, 'NO_PORTS')).toBe(true);
      expect((err as Error).message).toMatch(/all 4 RTP ports in 10001-10008 are in use/);
    }
    pool.release(10004);
    pool.release(10004); // twice is harmless
    pool.release(12345); // not ours: ignored
    expect(pool.available).toBe(1);
    expect(pool.acquire()).toBe(10004);
  });

  it('does not reuse a just-released port while others are free', () => {
    const pool = new PortPool(20000, 20010);
    const a = pool.acquire();
    pool.release(a);
    expect(pool.acquire()).not.toBe(a);
  });

  it('lets the OS pick with 0-0', () => {
    const pool = new PortPool(0, 0);
    expect(pool.ephemeral).toBe(true);
    expect(pool.acquire()).toBe(0);
    expect(pool.acquire()).toBe(0);
    pool.release(0);
  });

  it('rejects nonsense ranges', () => {
    expect(() => new PortPool(20000, 10000)).toThrow(RangeError);
    expect(() => new PortPool(0, 10000)).toThrow(RangeError);
    expect(() => new PortPool(10001, 10001)).toThrow(/no even port/);
    expect(() => new PortPool(1, 70000)).toThrow(RangeError);
  });
});
