import { describe, expect, it } from 'vitest';
import { buildRtp, parseRtp, tsDiff } from '../../server/rtp/rtp-packet.ts';

const header = {
  marker: true,
  payloadType: 8,
  sequence: 65535,
  timestamp: 0xfffffff0,
  ssrc: 0xdeadbeef,
};
const payload = Uint8Array.from({ length: 160 }, (_, i) => i);

describe('RTP packets', () => {
  it('round-trips a plain packet', () => {
    const buf = buildRtp({ ...header, payload });
    expect(buf.length).toBe(172);
    expect(buf[0]).toBe(0x80);
    expect(buf[1]).toBe(0x88);
    const p = parseRtp(buf)!;
    expect(p).toMatchObject({ ...header, padding: false, csrc: [], extension: null });
    expect([...p.payload]).toEqual([...payload]);
  });

  it('round-trips CSRCs, a header extension and padding', () => {
    const extension = { profile: 0xbede, data: Uint8Array.of(0x10, 0xaa, 0, 0, 1, 2, 3, 4) };
    const buf = buildRtp({
      ...header,
      marker: false,
      payload,
      csrc: [1, 0xffffffff],
      extension,
      padding: 3,
    });
    expect(buf.length).toBe(12 + 8 + 4 + 8 + 160 + 3);
    expect(buf[0]).toBe(0x80 | 0x20 | 0x10 | 2);
    const p = parseRtp(buf)!;
    expect(p.csrc).toEqual([1, 0xffffffff]);
    expect(p.extension?.profile).toBe(0xbede);
    expect([...p.extension!.data]).toEqual([...extension.data]);
    expect(p.padding).toBe(true);
    expect(p.marker).toBe(false);
    expect([...p.payload]).toEqual([...payload]);
  });

  it('returns null, never throws, for garbage', () => {
    const good = buildRtp({
      ...header,
      payload,
      csrc: [7],
      extension: { profile: 1, data: new Uint8Array(4) },
    });
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      new Uint8Array(11).fill(0x80),
      Uint8Array.of(0x40, ...new Uint8Array(20)), // version 1
      Uint8Array.of(0x8f, 0, ...new Uint8Array(20)), // 15 CSRCs announced, 20 bytes present
      good.subarray(0, 18), // extension header cut off
      Uint8Array.of(0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), // padding count 0
      Uint8Array.of(0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200), // more padding than packet
      Uint8Array.of(0x80, 200, ...new Uint8Array(30)), // RTCP sender report muxed on the port
    ];
    for (const c of cases) expect(parseRtp(c)).toBeNull();
    // Extension length pointing past the end.
    const lying = Buffer.from(good);
    lying.writeUInt16BE(100, 18);
    expect(parseRtp(lying)).toBeNull();
    for (let i = 0; i < 2000; i++) {
      const junk = Uint8Array.from({ length: (i % 300) + 1 }, () => (Math.random() * 256) | 0);
      expect(() => parseRtp(junk)).not.toThrow();
    }
  });

  it('refuses to build what cannot be sent', () => {
    expect(() => buildRtp({ ...header, payload, csrc: new Array(16).fill(1) })).toThrow(RangeError);
    expect(() =>
      buildRtp({ ...header, payload, extension: { profile: 1, data: new Uint8Array(3) } }),
    ).toThrow(RangeError);
    expect(() => buildRtp({ ...header, payload, padding: 256 })).toThrow(RangeError);
  });

  it('compares timestamps across the 32-bit wrap', () => {
    expect(tsDiff(100, 0xffffff00)).toBe(356);
    expect(tsDiff(0xffffff00, 100)).toBe(-356);
    expect(tsDiff(320, 160)).toBe(160);
  });
});
