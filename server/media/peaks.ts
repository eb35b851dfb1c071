import { parseWav, toPcm16 } from './wav.ts';

/** The loudest sample of each of `count` equal slices, from 0 to 1: enough to draw a waveform. */
export function wavPeaks(bytes: Uint8Array, count = 200): number[] {
  const wav = parseWav(bytes);
  const samples = toPcm16(wav);
  const frames = Math.floor(samples.length / wav.channels);
  const peaks: number[] = [];
  for (let i = 0; i < count; i++) {
    const from = Math.floor((i * frames) / count) * wav.channels;
    const to = Math.max(from + wav.channels, Math.floor(((i + 1) * frames) / count) * wav.channels);
    let max = 0;
    for (let j = from; j < to && j < samples.length; j++)
      max = Math.max(max, Math.abs(samples[j]!));
    peaks.push(Math.round((max / 32768) * 1000) / 1000);
  }
  return peaks;
}
