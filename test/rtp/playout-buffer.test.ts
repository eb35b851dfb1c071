import { describe, expect, it } from 'vitest';
import { PlayoutBuffer } from '../../server/rtp/playout-buffer.ts';

/** Frames are tagged by their first byte so the output order is readable. */
function harness(opts: ConstructorParameters<typeof PlayoutBuffer>[1] = {}) {
  const out: string[] = [];
  let now = 0;
  const buf = new PlayoutBuffer(
    {
      frame: (_pt, payload) => out.push(`f${payload[0]}`),
      silence: (n) => out.push(`s${n}`),
    },
    { now: () => now, ...opts },
  );
  const push = (n: number, ssrc = 1, base = 0xffffff00, len = 160) =>
    buf.push(ssrc, (60000 + n) & 0xffff, (base + n * len) >>> 0, 0, new Uint8Array(len).fill(n));
  return { out, buf, push, advance: (ms: number) => (now += ms) };
}

describe('PlayoutBuffer', () => {
  it('reorders by timestamp across the 32-bit wrap and drops duplicates', () => {
    const { out, buf, push } = harness();
    for (const n of [0, 2, 1, 1, 3, 0]) push(n);
    expect(out).toEqual(['f0', 'f1', 'f2', 'f3']);
    expect(buf.stats.duplicates).toBe(2);
  });

  it('fills a hole with silence once the buffer spans more than the playout window', () => {
    const { out, buf, push } = harness({ playoutMs: 60 });
    push(0);
    push(2);
    push(3);
    expect(out).toEqual(['f0']); // still waiting for 1
    push(4);
    push(5); // 80 ms buffered past the hole
    expect(out).toEqual(['f0', 's160', 'f2', 'f3', 'f4', 'f5']);
    expect(buf.stats.lost).toBe(1);
    push(1); // too late now
    expect(buf.stats.late).toBe(1);
  });

  it('flush() releases what waits behind a hole', () => {
    const { out, buf, push } = harness();
    push(0);
    push(3);
    buf.flush();
    expect(out).toEqual(['f0', 's320', 'f3']);
    expect(buf.waiting).toBe(false);
  });

  it('re-bases on an SSRC change', () => {
    const { out, buf, push } = harness();
    push(0, 1);
    push(1, 1);
    push(7, 2, 5000); // new stream, unrelated timestamps
    push(8, 2, 5000);
    expect(out).toEqual(['f0', 'f1', 'f7', 'f8']);
    expect(buf.stats.ssrcChanges).toBe(1);
  });

  it('caps a long gap at maxGapMs of silence', () => {
    const { out, push } = harness({ maxGapMs: 1000 });
    push(0);
    push(3000); // a minute later
    push(3001);
    expect(out).toEqual(['f0', 's8000', 'f184', 'f185']);
  });

  it('spends silence from a real-time budget, so wild timestamps cannot flood', () => {
    const { out, buf, push, advance } = harness({ maxGapMs: 1000, silenceBudgetMs: 2000 });
    for (let i = 0; i < 100; i++) push(i * 400);
    const silence = out
      .filter((o) => o.startsWith('s'))
      .reduce((a, o) => a + Number(o.slice(1)), 0);
    expect(silence).toBe(2000 * 8);
    advance(500);
    out.length = 0;
    push(100 * 400);
    expect(out[0]).toBe('s4000');
    expect(buf.buffered).toBe(0);
  });

  it('holds at most maxPackets', () => {
    const { buf, push } = harness({ maxPackets: 10, playoutMs: 100000, maxGapMs: 100000 });
    push(0);
    for (let i = 0; i < 500; i++) push(2 + i * 2); // every other packet missing
    expect(buf.buffered).toBeLessThan(10);
    expect(buf.stats.overflows).toBeGreaterThan(0);
  });
});
