import { describe, expect, it } from 'vitest';
import { decideRetry, leaseFor, type DeliveryResult } from '../../server/domain/delivery.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const created = Date.UTC(2026, 0, 1);
const busy: DeliveryResult = { status: 'retry', reason: '451 try again later' };

describe('whether and when to retry a delivery', () => {
  it('is done when the target took it', () => {
    expect(decideRetry({ attempts: 3, createdAt: created }, { status: 'ok' }, created, 48)).toEqual(
      { action: 'done' },
    );
  });

  it('gives up at once on a refusal for good', () => {
    expect(
      decideRetry(
        { attempts: 0, createdAt: created },
        { status: 'fail', reason: '550 no such user' },
        created,
        48,
      ),
    ).toEqual({ action: 'give-up', reason: '550 no such user' });
  });

  it('waits for the very moment a target names, even one just past, so items keep their order', () => {
    const at = created + 30_000;
    const result: DeliveryResult = { status: 'retry', reason: 'peer down', at };
    for (const now of [created + 1000, at + 3])
      expect(decideRetry({ attempts: 2, createdAt: created }, result, now, 48)).toEqual({
        action: 'retry',
        at,
        attempts: 3,
      });
    expect(
      decideRetry({ attempts: 2, createdAt: created }, result, created + 49 * HOUR, 48),
    ).toEqual({ action: 'give-up', reason: 'peer down' });
  });

  it('waits 1, 5, 15, 30 minutes, then every hour', () => {
    const now = created + 10 * MINUTE;
    const waits = [0, 1, 2, 3, 4, 5, 9].map((attempts) => {
      const d = decideRetry({ attempts, createdAt: created }, busy, now, 48);
      if (d.action !== 'retry') throw new Error(`expected a retry, got ${d.action}`);
      expect(d.attempts).toBe(attempts + 1);
      return (d.at - now) / MINUTE;
    });
    expect(waits).toEqual([1, 5, 15, 30, 60, 60, 60]);
  });

  it('takes the time the target names', () => {
    const d = decideRetry(
      { attempts: 0, createdAt: created },
      { ...busy, afterMs: 7000 },
      created,
      48,
    );
    expect(d).toEqual({ action: 'retry', at: created + 7000, attempts: 1 });
    const never = decideRetry(
      { attempts: 0, createdAt: created },
      { ...busy, afterMs: -5 },
      created,
      48,
    );
    expect(never).toEqual({ action: 'retry', at: created, attempts: 1 });
  });

  it('gives up on temporary failures once the item has waited retryHours', () => {
    const item = { attempts: 20, createdAt: created };
    expect(decideRetry(item, busy, created + 48 * HOUR - 1, 48).action).toBe('retry');
    expect(decideRetry(item, busy, created + 48 * HOUR, 48)).toEqual({
      action: 'give-up',
      reason: '451 try again later',
    });
    // Even when the target names a time: the deadline is the queue's, not the target's.
    expect(decideRetry(item, { ...busy, afterMs: 1000 }, created + 49 * HOUR, 48).action).toBe(
      'give-up',
    );
  });
});

describe('a lease', () => {
  it('outlasts the target time limit, with room to record the result', () => {
    for (const timeout of [1000, 5000, 120_000, 3_600_000]) {
      expect(leaseFor(timeout)).toBeGreaterThan(timeout);
    }
    expect(leaseFor(120_000)).toBe(150_000);
    expect(leaseFor(2000)).toBe(4000);
  });
});
