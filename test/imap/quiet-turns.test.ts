import { describe, expect, it, vi } from 'vitest';
import { QuietTurns } from '../../imap/quiet-turns.ts';

/**
 * Connections accepted one per turn of the event loop, as libuv accepts them: `count` turns in a
 * row (or without end), each noting its connection in `order`. Returns a stop function.
 */
function acceptInTurns(turns: QuietTurns, order: string[], count = Infinity): () => void {
  let n = 0;
  let stopped = false;
  const accept = (): void => {
    if (stopped) return;
    turns.accepted();
    order.push(`connection ${n}`);
    if (++n < count) setImmediate(accept);
  };
  accept();
  return () => {
    stopped = true;
  };
}

describe('log-ins taking turns behind new connections', () => {
  it('starts a log-in only once connections stop coming, then one per turn in order', async () => {
    const turns = new QuietTurns();
    const order: string[] = [];
    acceptInTurns(turns, order, 10);
    const started = ['a', 'b', 'c'].map(
      (name) => new Promise<void>((resolve) => turns.take(() => resolve(void order.push(name)))),
    );
    await Promise.all(started);
    expect(order).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `connection ${i}`),
      'a',
      'b',
      'c',
    ]);
  });

  it('lets connections that come after a log-in started go before the next one', async () => {
    const turns = new QuietTurns();
    const order: string[] = [];
    const second = new Promise<void>((resolve) => {
      turns.take(() => {
        order.push('a');
        // Connections accepted from this turn on.
        acceptInTurns(turns, order, 3);
      });
      turns.take(() => resolve(void order.push('b')));
    });
    await second;
    expect(order).toEqual(['a', 'connection 0', 'connection 1', 'connection 2', 'b']);
  });

  it('starts log-ins at the latest after maxWaitMs, however many connections come', async () => {
    const turns = new QuietTurns(30);
    const order: string[] = [];
    const stop = acceptInTurns(turns, order);
    try {
      const t0 = performance.now();
      await new Promise<void>((resolve) => turns.take(resolve));
      expect(performance.now() - t0).toBeGreaterThanOrEqual(29);
      expect(order.length).toBeGreaterThan(1);
    } finally {
      stop();
    }
  });

  it('keeps the line going when a log-in throws', async () => {
    const turns = new QuietTurns();
    const thrown = vi.fn();
    process.once('uncaughtException', thrown);
    turns.take(() => {
      throw new Error('boom');
    });
    await new Promise<void>((resolve) => turns.take(resolve));
    process.off('uncaughtException', thrown);
    expect(thrown).toHaveBeenCalledOnce();
  });
});
