/**
 * RIFF/WAVE reading and writing for the three encodings telephony uses: 16-bit PCM, µ-law and
 * A-law. Every refusal is a BAD_AUDIO error whose message tells a person what is wrong with
 * the file, because it ends up in front of whoever uploaded it.
 */
import { VoicegateError } from '../domain/errors.ts';
import { decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw } from './g711.ts';

export const WAV_ENCODINGS = ['pcm16', 'mulaw', 'alaw'] as const;
export type WavEncoding = (typeof WAV_ENCODINGS)[number];

export interface WavAudio {
  encoding: WavEncoding;
  sampleRate: number;
  channels: number;
  /** The sample bytes, interleaved, little-endian for pcm16; a view into the parsed input. */
  data: Uint8Array;
}

export interface Wav extends WavAudio {
  durationMs: number;
}

export const MIN_SAMPLE_RATE = 8000;
export const MAX_SAMPLE_RATE = 48000;

const FORMAT_TAGS: Record<number, WavEncoding> = { 1: 'pcm16', 6: 'alaw', 7: 'mulaw' };
const TAG_OF: Record<WavEncoding, number> = { pcm16: 1, alaw: 6, mulaw: 7 };
const BITS: Record<WavEncoding, number> = { pcm16: 16, alaw: 8, mulaw: 8 };
const ENCODING_LABEL: Record<WavEncoding, string> = { pcm16: 'PCM', alaw: 'A-law', mulaw: 'µ-law' };
/** Names of formats people actually run into, so a refusal says more than a number. */
const FORMAT_NAMES: Record<number, string> = {
  2: 'Microsoft ADPCM',
  3: 'IEEE float',
  0x11: 'IMA ADPCM',
  0x31: 'GSM 6.10',
  0x50: 'MPEG audio',
  0x55: 'MP3',
  0x64: 'G.726 ADPCM',
};
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** Bytes 2..15 of KSDATAFORMAT_SUBTYPE_*: the format tag sits in the first two. */
const SUBTYPE_TAIL = [0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71];
/**
 * Data sizes written by recorders that could not seek back to fix the header (piped output):
 * 0 and 0xFFFFFFFF by convention, 0x7FFFF000 by sox. With these we take the bytes present.
 */
const STREAMING_SIZES = new Set([0, 0xffffffff, 0x7ffff000]);

function bad(message: string): VoicegateError {
  return new VoicegateError('BAD_AUDIO', message);
}

function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
}

/** A chunk id as text fit for an error message, even when it is binary garbage. */
function shownId(id: string): string {
  return /^[\x20-\x7e]{4}$/.test(id) ? `'${id}'` : 'unreadable';
}

function formatName(tag: number): string {
  const known = FORMAT_TAGS[tag];
  if (known) return ENCODING_LABEL[known];
  return FORMAT_NAMES[tag] ?? 'unknown format';
}

function checkShape(encoding: WavEncoding, sampleRate: number, channels: number): void {
  if (!WAV_ENCODINGS.includes(encoding)) throw bad(`unsupported encoding: ${String(encoding)}`);
  if (channels !== 1 && channels !== 2) {
    throw bad(`unsupported channel count: ${channels} (mono or stereo are supported)`);
  }
  if (
    !Number.isInteger(sampleRate) ||
    sampleRate < MIN_SAMPLE_RATE ||
    sampleRate > MAX_SAMPLE_RATE
  ) {
    throw bad(
      `unsupported sample rate: ${sampleRate} Hz (${MIN_SAMPLE_RATE} to ${MAX_SAMPLE_RATE} Hz are supported)`,
    );
  }
}

function parseFmt(view: DataView, at: number, size: number): Omit<WavAudio, 'data'> {
  if (size < 16) throw bad(`malformed fmt chunk: ${size} bytes, at least 16 expected`);
  let tag = view.getUint16(at, true);
  const channels = view.getUint16(at + 2, true);
  const sampleRate = view.getUint32(at + 4, true);
  const blockAlign = view.getUint16(at + 12, true);
  const bits = view.getUint16(at + 14, true);
  let where = `format ${tag}`;
  if (tag === WAVE_FORMAT_EXTENSIBLE) {
    if (size < 40)
      throw bad(`malformed fmt chunk: WAVE_FORMAT_EXTENSIBLE needs 40 bytes, found ${size}`);
    const guid = new Uint8Array(view.buffer, view.byteOffset + at + 24, 16);
    if (!SUBTYPE_TAIL.every((b, i) => guid[i + 2] === b)) {
      throw bad('unsupported WAV encoding: unknown WAVE_FORMAT_EXTENSIBLE sub-format');
    }
    tag = view.getUint16(at + 24, true);
    where = `format ${tag} in WAVE_FORMAT_EXTENSIBLE`;
  }
  const encoding = FORMAT_TAGS[tag];
  if (!encoding) throw bad(`unsupported WAV encoding: ${formatName(tag)} (${where})`);
  if (bits !== BITS[encoding]) {
    throw bad(
      `unsupported bit depth: ${bits}-bit ${ENCODING_LABEL[encoding]} (16-bit PCM, µ-law or A-law are supported)`,
    );
  }
  checkShape(encoding, sampleRate, channels);
  if (blockAlign !== (channels * bits) / 8) {
    throw bad(
      `malformed fmt chunk: block align ${blockAlign} does not fit ${channels} channel(s) of ${bits}-bit samples`,
    );
  }
  return { encoding, sampleRate, channels };
}

function checkRiff(bytes: Uint8Array): void {
  if (bytes.length === 0) throw bad('not a WAV file (the file is empty)');
  const riff = bytes.length >= 4 ? fourcc(bytes, 0) : '';
  if (riff === 'RIFX') throw bad('unsupported WAV: big-endian RIFX files are not supported');
  if (riff === 'RF64') throw bad('unsupported WAV: RF64 (over 4 GB) files are not supported');
  if (riff !== 'RIFF') throw bad('not a WAV file (no RIFF header)');
  if (bytes.length < 12) throw bad('truncated WAV: the file ends inside the RIFF header');
  const form = fourcc(bytes, 8);
  if (form !== 'WAVE') {
    throw bad(`not a WAV file (a RIFF file of type ${shownId(form)}, not 'WAVE')`);
  }
}

/** Reads a WAV file; the RIFF size is not checked, since many writers get it wrong harmlessly. */
export function parseWav(bytes: Uint8Array): Wav {
  checkRiff(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: Omit<WavAudio, 'data'> | undefined;
  let data: Uint8Array | undefined;
  let pos = 12;
  while (pos + 8 <= bytes.length) {
    const id = fourcc(bytes, pos);
    const size = view.getUint32(pos + 4, true);
    const body = pos + 8;
    const present = bytes.length - body;
    if (id === 'data' && !data) {
      if (STREAMING_SIZES.has(size) && (size === 0 || size > present)) {
        data = bytes.subarray(body);
        break;
      }
      if (size > present) {
        throw bad(`truncated WAV: data chunk declares ${size} bytes but ${present} are present`);
      }
      data = bytes.subarray(body, body + size);
    } else if (size > present) {
      // Metadata cut short after the audio (a LIST appended by a tagger) loses nothing we need.
      if (data && fmt) break;
      throw bad(
        `truncated WAV: ${shownId(id)} chunk declares ${size} bytes but ${present} are present`,
      );
    } else if (id === 'fmt ' && !fmt) {
      fmt = parseFmt(view, body, size);
    }
    pos = body + size + (size & 1);
  }
  if (!fmt) throw bad('no fmt chunk: the WAV file does not say how its audio is encoded');
  if (!data) throw bad('no data chunk: the WAV file holds no audio');
  const frame = (fmt.channels * BITS[fmt.encoding]) / 8;
  // A partial last frame comes from a cut-off recording; it holds no whole sample to play.
  const usable = data.length - (data.length % frame);
  if (usable === 0) throw bad('empty audio: the data chunk holds no samples');
  const wav = { ...fmt, data: data.subarray(0, usable) };
  return { ...wav, durationMs: durationMs(wav) };
}

/** Whole milliseconds, rounded: what a mailbox shows and what quotas count. */
export function durationMs(audio: WavAudio): number {
  const frames = audio.data.length / ((audio.channels * BITS[audio.encoding]) / 8);
  return Math.round((frames * 1000) / audio.sampleRate);
}

/** Canonical WAV: 44-byte header for PCM; for G.711 an 18-byte fmt and a fact chunk, as sox writes. */
export function encodeWav(audio: WavAudio): Uint8Array {
  const { encoding, sampleRate, channels, data } = audio;
  checkShape(encoding, sampleRate, channels);
  const bytesPerSample = BITS[encoding] / 8;
  const blockAlign = channels * bytesPerSample;
  if (data.length % blockAlign !== 0) {
    throw bad(
      `sample data of ${data.length} bytes is not a whole number of ${blockAlign}-byte frames`,
    );
  }
  const g711 = encoding !== 'pcm16';
  const fmtSize = g711 ? 18 : 16;
  const factSize = g711 ? 12 : 0;
  const header = 12 + 8 + fmtSize + factSize + 8;
  const pad = data.length & 1;
  const out = new Uint8Array(header + data.length + pad);
  const view = new DataView(out.buffer);
  const ascii = (at: number, text: string) =>
    out.set(
      Array.from(text, (c) => c.charCodeAt(0)),
      at,
    );
  ascii(0, 'RIFF');
  view.setUint32(4, out.length - 8, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, fmtSize, true);
  view.setUint16(20, TAG_OF[encoding], true);
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * blockAlign, true);
  view.setUint16(32, blockAlign, true);
  view.setUint16(34, BITS[encoding], true);
  let pos = 36;
  if (g711) {
    view.setUint16(pos, 0, true); // cbSize: no extra format bytes
    ascii(pos + 2, 'fact');
    view.setUint32(pos + 6, 4, true);
    view.setUint32(pos + 10, data.length / blockAlign, true);
    pos += 14;
  }
  ascii(pos, 'data');
  view.setUint32(pos + 4, data.length, true);
  out.set(data, pos + 8);
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The samples as 16-bit linear, interleaved when stereo. */
export function toPcm16(audio: WavAudio): Int16Array {
  const { data } = audio;
  if (audio.encoding === 'mulaw') return decodeUlaw(data);
  if (audio.encoding === 'alaw') return decodeAlaw(data);
  const out = new Int16Array(data.length >> 1);
  if (LITTLE_ENDIAN) {
    // WAV is little-endian, like the machine: a byte copy (a per-sample loop costs ~20 ms for
    // a two-minute message, on the thread that paces every call's audio).
    new Uint8Array(out.buffer).set(data.subarray(0, out.length * 2));
    return out;
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true);
  return out;
}

/** The inverse of `toPcm16`: 16-bit linear samples as the data bytes of the given encoding. */
export function fromPcm16(samples: ArrayLike<number>, encoding: WavEncoding): Uint8Array {
  if (encoding === 'mulaw') return encodeUlaw(samples);
  if (encoding === 'alaw') return encodeAlaw(samples);
  if (LITTLE_ENDIAN && samples instanceof Int16Array)
    return new Uint8Array(
      samples.buffer.slice(samples.byteOffset, samples.byteOffset + samples.byteLength),
    );
  const out = new Uint8Array(samples.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.round(samples[i]!);
    view.setInt16(i * 2, s > 32767 ? 32767 : s < -32768 ? -32768 : s, true);
  }
  return out;
}

/** What the server records about deposited audio: `wav/mulaw/8000`, `wav/pcm16/16000/2`. */
export function inspectWav(bytes: Uint8Array): { format: string; durationMs: number } {
  const wav = parseWav(bytes);
  const channels = wav.channels === 1 ? '' : `/${wav.channels}`;
  return { format: `wav/${wav.encoding}/${wav.sampleRate}${channels}`, durationMs: wav.durationMs };
}
