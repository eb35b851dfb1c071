import { parseWav, toPcm16 } from '../media/wav.ts';
import { toneWav } from '../media/tone.ts';

let cached: Int16Array | undefined;

/** A short 8 kHz tone: what plays when a prompt or speech cannot be made on this machine. */
export function beep(): Int16Array {
  cached ??= toPcm16(parseWav(toneWav({ seconds: 0.25, frequency: 1000 })));
  return cached;
}
