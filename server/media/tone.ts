/**
 * Synthetic audio for demos and tests when no speech synthesizer is installed: a plain tone
 * or silence, as 16-bit PCM mono WAV.
 */
import { VoicegateError } from '../domain/errors.ts';
import { encodeWav, fromPcm16, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE } from './wav.ts';

/** About -12 dBFS: clearly audible on a handset without clipping after G.711 or gain stages. */
const AMPLITUDE = 0.25 * 32767;
/** Ramp length; a tone that starts or stops at full level clicks. */
const FADE_SECONDS = 0.01;
/** Upper bound on what a demo may ask for, so a typo cannot allocate gigabytes. */
const MAX_SECONDS = 600;

export interface ToneOptions {
  seconds: number;
  frequency?: number;
  sampleRate?: number;
}

function frameCount(seconds: number, sampleRate: number): number {
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_SECONDS) {
    throw new VoicegateError(
      'INVALID_INPUT',
      `tone length must be more than 0 and at most ${MAX_SECONDS} seconds`,
    );
  }
  if (
    !Number.isInteger(sampleRate) ||
    sampleRate < MIN_SAMPLE_RATE ||
    sampleRate > MAX_SAMPLE_RATE
  ) {
    throw new VoicegateError(
      'INVALID_INPUT',
      `sample rate must be ${MIN_SAMPLE_RATE} to ${MAX_SAMPLE_RATE} Hz`,
    );
  }
  return Math.max(1, Math.round(seconds * sampleRate));
}

export function toneWav({ seconds, frequency = 440, sampleRate = 8000 }: ToneOptions): Uint8Array {
  const frames = frameCount(seconds, sampleRate);
  if (!Number.isFinite(frequency) || frequency <= 0 || frequency >= sampleRate / 2) {
    throw new VoicegateError(
      'INVALID_INPUT',
      `tone frequency must be above 0 and below ${sampleRate / 2} Hz`,
    );
  }
  const fade = Math.min(Math.round(FADE_SECONDS * sampleRate), Math.floor(frames / 2));
  const samples = new Float64Array(frames);
  for (let i = 0; i < frames; i++) {
    const edge = Math.min(i, frames - 1 - i);
    const gain = edge < fade ? edge / fade : 1;
    samples[i] = AMPLITUDE * gain * Math.sin((2 * Math.PI * frequency * i) / sampleRate);
  }
  return encodeWav({
    encoding: 'pcm16',
    sampleRate,
    channels: 1,
    data: fromPcm16(samples, 'pcm16'),
  });
}

export function silenceWav(seconds: number, sampleRate = 8000): Uint8Array {
  const frames = frameCount(seconds, sampleRate);
  return encodeWav({
    encoding: 'pcm16',
    sampleRate,
    channels: 1,
    data: new Uint8Array(frames * 2),
  });
}
