import { afterAll, describe, expect, it } from 'vitest';
import {
  alawToLinear,
  decodeAlaw,
  decodeUlaw,
  encodeAlaw,
  encodeUlaw,
  linearToAlaw,
  linearToUlaw,
  ulawToLinear,
} from '../../server/media/g711.ts';
import { scratch, sox } from './sox.ts';

const dir = scratch();
afterAll(() => dir.remove());

const ALL_SAMPLES = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
const ALL_CODES = Uint8Array.from({ length: 256 }, (_, i) => i);
const LAWS = [
  { law: 'µ-law', soxEncoding: 'u-law', encode: encodeUlaw, decode: decodeUlaw, max: 32124 },
  { law: 'A-law', soxEncoding: 'a-law', encode: encodeAlaw, decode: decodeAlaw, max: 32256 },
] as const;

/** Converts raw headerless audio with sox; -D because sox would otherwise dither when narrowing. */
function soxRaw(input: Uint8Array, from: string[], to: string[]): Uint8Array {
  const name = `raw-${from.join('')}-${to.join('')}`;
  dir.write(`${name}.in`, input);
  sox([
    '-D',
    '-t',
    'raw',
    '-r',
    '8000',
    '-c',
    '1',
    ...from,
    dir.path(`${name}.in`),
    '-t',
    'raw',
    ...to,
    dir.path(`${name}.out`),
  ]);
  return dir.read(`${name}.out`);
}

const PCM16 = ['-e', 'signed-integer', '-b', '16', '-L'];

describe('G.711 reference points (ITU-T G.711 tables)', () => {
  it('µ-law', () => {
    expect([0x00, 0x80, 0xff, 0x7f, 0x7e].map(ulawToLinear)).toEqual([-32124, 32124, 0, 0, -8]);
    expect([0, 32767, -32768, -8].map(linearToUlaw)).toEqual([0xff, 0x80, 0x00, 0x7e]);
  });

  it('A-law', () => {
    expect([0xd5, 0x55, 0xaa, 0x2a].map(alawToLinear)).toEqual([8, -8, 32256, -32256]);
    expect([0, -1, 32767, -32768].map(linearToAlaw)).toEqual([0xd5, 0x55, 0xaa, 0x2a]);
  });
});

describe.each(LAWS)('$law agrees with sox', ({ soxEncoding, encode, decode }) => {
  // Exact comparison: both sides follow the same reference algorithm, so no sample may differ.
  it('decodes all 256 codes exactly as sox does', () => {
    const theirs = soxRaw(ALL_CODES, ['-e', soxEncoding, '-b', '8'], PCM16);
    expect(Buffer.from(decode(ALL_CODES).buffer).equals(Buffer.from(theirs))).toBe(true);
  });

  // Not exact: sox rounds each sample to the law's input resolution (14-bit µ-law, 13-bit
  // A-law) before quantising, the reference code (and Asterisk) truncates. So near a decision
  // threshold the two may pick neighbouring codes; every such code must be the one we give for
  // an input less than one of those input steps away, and such samples must stay rare.
  it('encodes all 65536 16-bit values as sox does, within one input step at thresholds', () => {
    const theirs = soxRaw(new Uint8Array(ALL_SAMPLES.buffer), PCM16, [
      '-e',
      soxEncoding,
      '-b',
      '8',
    ]);
    const ours = encode(ALL_SAMPLES);
    const inputStep = soxEncoding === 'u-law' ? 4 : 8;
    const unexplained: number[] = [];
    let differing = 0;
    for (let i = 0; i < ALL_SAMPLES.length; i++) {
      if (ours[i] === theirs[i]) continue;
      differing++;
      const x = ALL_SAMPLES[i]!;
      const near = Array.from({ length: 2 * inputStep - 1 }, (_, k) => x + k - inputStep + 1);
      if (!near.some((y) => encode([y])[0] === theirs[i])) unexplained.push(x);
    }
    expect(unexplained).toEqual([]);
    expect(differing / ALL_SAMPLES.length).toBeLessThan(0.02);
  });
});

describe.each(LAWS)('$law round trip', ({ law, encode, decode, max }) => {
  const back = decode(encode(ALL_SAMPLES));

  it('stays within half a quantisation step: 16 near zero, 1/16 of the level above', () => {
    const worst = { x: 0, err: 0 };
    for (let i = 0; i < ALL_SAMPLES.length; i++) {
      const x = ALL_SAMPLES[i]!;
      const err = Math.abs(back[i]! - x);
      if (Math.abs(x) <= max && err > Math.max(16, Math.abs(x) / 16) && err > worst.err)
        Object.assign(worst, { x, err });
    }
    expect(worst, `${law} error too large`).toEqual({ x: 0, err: 0 });
  });

  it('saturates beyond the largest code instead of wrapping', () => {
    expect([back[0], back[65535]]).toEqual([-max, max]);
  });

  it('never reorders levels (decode(encode(x)) is non-decreasing)', () => {
    let ok = true;
    for (let i = 1; i < back.length; i++) ok &&= back[i]! >= back[i - 1]!;
    expect(ok).toBe(true);
  });

  it('re-encodes every decoded code to itself (µ-law has two zeros)', () => {
    const again = encode(decode(ALL_CODES));
    const differing = ALL_CODES.filter((c) => again[c] !== c);
    expect(Array.from(differing)).toEqual(law === 'µ-law' ? [0x7f] : []);
  });
});

it('buffer and single-sample functions agree, and out-of-range input is clamped', () => {
  const samples = [0, 1, -1, 1000, -1000, 40000, -40000, 12.7];
  expect(Array.from(encodeUlaw(samples))).toEqual(samples.map(linearToUlaw));
  expect(Array.from(encodeAlaw(samples))).toEqual(samples.map(linearToAlaw));
  expect(linearToUlaw(40000)).toBe(linearToUlaw(32767));
  expect(linearToAlaw(-40000)).toBe(linearToAlaw(-32768));
});
