/**
 * G.711 encoding by table for the sender: one lookup per sample instead of the reference
 * algorithm's branches, so encoding a prompt in play() does not stall the shared clock's tick.
 * The tables (64 KiB each) are built from server/media's encoder on first use, so the two
 * always agree.
 */
import { decodeAlaw, decodeUlaw, linearToAlaw, linearToUlaw } from '../media/g711.ts';
import type { Codec } from './sdp.ts';

const tables: Partial<Record<Codec, Uint8Array>> = {};

function table(codec: Codec): Uint8Array {
  let t = tables[codec];
  if (!t) {
    const encode = codec === 'PCMU' ? linearToUlaw : linearToAlaw;
    t = Uint8Array.from({ length: 65536 }, (_, i) => encode(i - 32768));
    tables[codec] = t;
  }
  return t;
}

export function encodeG711(codec: Codec, samples: Int16Array): Uint8Array {
  const t = table(codec);
  const out = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = t[samples[i]! + 32768]!;
  return out;
}

/** Decoders by static payload type (0 PCMU, 8 PCMA). */
export const DECODERS: Partial<Record<number, (bytes: Uint8Array) => Int16Array>> = {
  0: decodeUlaw,
  8: decodeAlaw,
};

/** The byte that decodes to silence. */
export const SILENCE_BYTE: Record<Codec, number> = { PCMU: 0xff, PCMA: 0xd5 };
