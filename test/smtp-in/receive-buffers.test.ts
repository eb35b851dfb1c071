import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ReceiveBuffers } from '../../server/smtp-in/receive-buffers.ts';

/** A DATA stream that gives `chunks` and ends. */
function data(chunks: Buffer[]): PassThrough {
  const stream = new PassThrough();
  queueMicrotask(() => {
    for (const c of chunks) stream.write(c);
    stream.end();
  });
  return stream;
}

const bytes = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);

afterEach(() => vi.useRealTimers());

describe('the buffers a mail is gathered into', () => {
  it('gathers the chunks in order, growing past the first size, and keeps at most the limit', async () => {
    const buffers = new ReceiveBuffers({ keepBytes: 1 << 20, idleMs: 1000 });
    const chunks = [bytes(200_000, 1), bytes(200_000, 2), bytes(1, 3)];
    const read = await buffers.read(data(chunks), 1 << 20);
    expect(read.raw.equals(Buffer.concat(chunks))).toBe(true);
    expect(read.bytes).toBe(400_001);
    read.release();
    const over = await buffers.read(data(chunks), 300_000);
    expect(over.bytes).toBe(400_001);
    expect(over.raw.equals(chunks[0]!)).toBe(true);
  });

  it('gives the next mail a buffer given back, one at most per mail, and none after a while without mail', async () => {
    vi.useFakeTimers();
    const buffers = new ReceiveBuffers({ keepBytes: 1 << 20, idleMs: 1000 });
    const first = await buffers.read(data([bytes(1000, 1)]), 1 << 20);
    first.release();
    first.release();
    expect(buffers.waiting).toBe(1);
    const second = await buffers.read(data([bytes(10, 2)]), 1 << 20);
    expect(second.raw.buffer).toBe(first.raw.buffer);
    expect(buffers.waiting).toBe(0);
    const third = await buffers.read(data([bytes(10, 3)]), 1 << 20);
    expect(third.raw.buffer).not.toBe(first.raw.buffer);
    second.release();
    third.release();
    expect(buffers.waiting).toBe(2);
    vi.advanceTimersByTime(1000);
    expect(buffers.waiting).toBe(0);
  });

  it('keeps no more bytes than it was given to keep, and gives the smallest buffer that fits', async () => {
    const buffers = new ReceiveBuffers({ keepBytes: 100_000, idleMs: 1000 });
    const big = await buffers.read(data([bytes(300_000, 1)]), 1 << 20);
    big.release();
    expect(buffers.waiting).toBe(0);
    const [small, large, third] = [20_000, 60_000, 40_000].map((n) => buffers.take(n));
    for (const b of [small!, large!, third!]) buffers.giveBack(b);
    expect(buffers.waiting).toBe(2);
    expect(buffers.take(10_000)).toBe(small);
    expect(buffers.take(10_000)).toBe(large);
  });
});
