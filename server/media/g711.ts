/**
 * ITU-T G.711 µ-law and A-law, following the Sun/CCITT reference code (g711.c) bit for bit, so
 * that what we decode matches sox, Asterisk and every phone. Samples are 16-bit linear.
 * Encoding truncates to the law's 14/13-bit input as the reference and Asterisk do; sox rounds
 * instead, so right at a decision threshold it may pick the neighbouring code.
 */

const SIGN_BIT = 0x80;
const QUANT_MASK = 0x0f;
const SEG_SHIFT = 4;
const SEG_MASK = 0x70;
const ULAW_BIAS = 0x84;
/** Largest µ-law magnitude in 14-bit units; clipping here keeps the top segment in range. */
const ULAW_CLIP = 8159;

// Segment end points, in the scaled units each encoder works in (13-bit A-law, 14-bit µ-law).
const A_SEG_END = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff] as const;
const U_SEG_END = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff] as const;

function segment(value: number, ends: readonly number[]): number {
  for (let i = 0; i < ends.length; i++) if (value <= ends[i]!) return i;
  return ends.length;
}

/** Clamp anything numeric to an int16, so callers may pass mixed or float samples. */
function toInt16(sample: number): number {
  if (!(sample > -32768)) return Number.isNaN(sample) ? 0 : -32768;
  return sample >= 32767 ? 32767 : Math.trunc(sample);
}

export function linearToUlaw(sample: number): number {
  let pcm = toInt16(sample) >> 2;
  let mask = 0xff;
  if (pcm < 0) {
    pcm = -pcm;
    mask = 0x7f;
  }
  if (pcm > ULAW_CLIP) pcm = ULAW_CLIP;
  pcm += ULAW_BIAS >> 2;
  const seg = segment(pcm, U_SEG_END);
  if (seg >= 8) return 0x7f ^ mask;
  return ((seg << SEG_SHIFT) | ((pcm >> (seg + 1)) & QUANT_MASK)) ^ mask;
}

export function linearToAlaw(sample: number): number {
  let pcm = toInt16(sample) >> 3;
  let mask = 0xd5;
  if (pcm < 0) {
    pcm = -pcm - 1;
    mask = 0x55;
  }
  const seg = segment(pcm, A_SEG_END);
  if (seg >= 8) return 0x7f ^ mask;
  const quant = seg < 2 ? (pcm >> 1) & QUANT_MASK : (pcm >> seg) & QUANT_MASK;
  return ((seg << SEG_SHIFT) | quant) ^ mask;
}

function ulawDecode(byte: number): number {
  const u = ~byte & 0xff;
  const t = (((u & QUANT_MASK) << 3) + ULAW_BIAS) << ((u & SEG_MASK) >> SEG_SHIFT);
  return u & SIGN_BIT ? ULAW_BIAS - t : t - ULAW_BIAS;
}

function alawDecode(byte: number): number {
  const a = (byte ^ 0x55) & 0xff;
  let t = (a & QUANT_MASK) << 4;
  const seg = (a & SEG_MASK) >> SEG_SHIFT;
  if (seg === 0) t += 8;
  else t = (t + 0x108) << (seg - 1);
  return a & SIGN_BIT ? t : -t;
}

// Decoding is a 256-entry lookup; built once because it sits in every playback loop.
const ULAW_TABLE = Int16Array.from({ length: 256 }, (_, b) => ulawDecode(b));
const ALAW_TABLE = Int16Array.from({ length: 256 }, (_, b) => alawDecode(b));

export function ulawToLinear(byte: number): number {
  return ULAW_TABLE[byte & 0xff]!;
}

export function alawToLinear(byte: number): number {
  return ALAW_TABLE[byte & 0xff]!;
}

export function decodeUlaw(bytes: Uint8Array): Int16Array {
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = ULAW_TABLE[bytes[i]!]!;
  return out;
}

export function decodeAlaw(bytes: Uint8Array): Int16Array {
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = ALAW_TABLE[bytes[i]!]!;
  return out;
}

export function encodeUlaw(samples: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = linearToUlaw(samples[i]!);
  return out;
}

export function encodeAlaw(samples: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = linearToAlaw(samples[i]!);
  return out;
}
