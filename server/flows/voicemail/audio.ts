/**
 * Between stored WAV files and the 8 kHz mono samples the Call port plays and records.
 * Greetings uploaded on the web are converted to 8 kHz at upload, but the CLI and inbound
 * e-mail store other rates and stereo as they come, so playback converts what it must.
 */
import type { GreetingKind, MailboxRef } from '../../domain/mailbox.ts';
import { encodeWav, fromPcm16, parseWav, toPcm16 } from '../../media/wav.ts';
import type { FlowDeps } from '../flow-deps.ts';

export const SAMPLE_RATE = 8000;
export const SAMPLES_PER_MS = SAMPLE_RATE / 1000;

/** Greetings as samples, by audio key (stored audio never changes under its key). */
const greetingCache = new Map<string, Int16Array>();
const GREETINGS_KEPT = 64;

/**
 * A mailbox's greeting of one kind as 8 kHz samples, or null. Every caller of a busy mailbox
 * hears the same file: it is read and decoded once, not once per call.
 */
export async function greetingSamples(
  deps: FlowDeps,
  mailboxRef: MailboxRef,
  kind: GreetingKind,
): Promise<Int16Array | null> {
  const greeting = (await deps.messages.greetings(mailboxRef)).find((g) => g.kind === kind);
  if (!greeting) return null;
  const key = greeting.audio.key;
  const hit = greetingCache.get(key);
  if (hit) {
    greetingCache.delete(key);
    greetingCache.set(key, hit);
    return hit;
  }
  const bytes = await deps.messages.greetingAudio(mailboxRef, kind);
  if (!bytes) return null;
  const samples = wavToSamples(bytes);
  greetingCache.set(key, samples);
  if (greetingCache.size > GREETINGS_KEPT) greetingCache.delete(greetingCache.keys().next().value!);
  return samples;
}

export function wavToSamples(bytes: Uint8Array): Int16Array {
  const wav = parseWav(bytes);
  let pcm = toPcm16(wav);
  if (wav.channels === 2) pcm = downmix(pcm);
  return wav.sampleRate === SAMPLE_RATE ? pcm : resample(pcm, wav.sampleRate, SAMPLE_RATE);
}

/** Recorded samples as the 8 kHz 16-bit mono WAV a deposit takes. */
export function samplesToWav(samples: Int16Array): Uint8Array {
  return encodeWav({
    encoding: 'pcm16',
    sampleRate: SAMPLE_RATE,
    channels: 1,
    data: fromPcm16(samples, 'pcm16'),
  });
}

export function durationMs(samples: Int16Array): number {
  return Math.round(samples.length / SAMPLES_PER_MS);
}

function downmix(stereo: Int16Array): Int16Array {
  const out = new Int16Array(stereo.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = (stereo[2 * i]! + stereo[2 * i + 1]!) >> 1;
  return out;
}

/**
 * Linear interpolation. Without a low-pass filter, content above 4 kHz folds back; speech
 * has little there and the phone line cuts it anyway, so this is good enough for the rare
 * file that was not converted at upload.
 */
function resample(input: Int16Array, from: number, to: number): Int16Array {
  const out = new Int16Array(Math.floor((input.length * to) / from));
  const step = from / to;
  for (let i = 0; i < out.length; i++) {
    const pos = i * step;
    const k = Math.floor(pos);
    const a = input[k] ?? 0;
    const b = input[k + 1] ?? a;
    out[i] = Math.round(a + (b - a) * (pos - k));
  }
  return out;
}
