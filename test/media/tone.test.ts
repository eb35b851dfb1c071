import { afterAll, describe, expect, it } from 'vitest';
import { isVoicegateError } from '../../server/domain/errors.ts';
import { silenceWav, toneWav } from '../../server/media/tone.ts';
import { scratch, soxInfo, soxStat } from './sox.ts';

const dir = scratch();
afterAll(() => dir.remove());

describe('toneWav', () => {
  it('is a mono 16-bit WAV that sox hears as a moderate 440 Hz tone of the asked length', () => {
    dir.write('tone.wav', toneWav({ seconds: 2 }));
    const path = dir.path('tone.wav');
    expect([
      soxInfo(path, 'r'),
      soxInfo(path, 'c'),
      soxInfo(path, 'e'),
      soxInfo(path, 'b'),
    ]).toEqual(['8000', '1', 'Signed Integer PCM', '16']);
    const stat = soxStat(path);
    expect(stat['Length (seconds)']).toBe(2);
    expect(stat['Rough frequency']).toBeGreaterThan(430);
    expect(stat['Rough frequency']).toBeLessThan(450);
    expect(stat['Maximum amplitude']).toBeGreaterThan(0.2);
    expect(stat['Maximum amplitude']).toBeLessThan(0.3);
  });

  it('honours frequency and sample rate', () => {
    dir.write('tone16k.wav', toneWav({ seconds: 0.5, frequency: 1000, sampleRate: 16000 }));
    const stat = soxStat(dir.path('tone16k.wav'));
    expect(soxInfo(dir.path('tone16k.wav'), 'r')).toBe('16000');
    expect(stat['Length (seconds)']).toBe(0.5);
    expect(Math.abs(stat['Rough frequency']! - 1000)).toBeLessThan(20);
  });

  it('refuses lengths and frequencies that make no sense', () => {
    for (const options of [
      { seconds: 0 },
      { seconds: -1 },
      { seconds: NaN },
      { seconds: 1, frequency: 5000 },
    ]) {
      expect(() => toneWav(options), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: 'INVALID_INPUT' }),
      );
    }
  });
});

describe('silenceWav', () => {
  it('is silent for the asked length', () => {
    dir.write('silence.wav', silenceWav(1.25));
    const stat = soxStat(dir.path('silence.wav'));
    expect(stat['Length (seconds)']).toBe(1.25);
    expect(stat['Maximum amplitude']).toBe(0);
  });

  it('refuses a zero length', () => {
    let caught: unknown;
    try {
      silenceWav(0);
    } catch (err) {
      caught = err;
    }
    expect(isVoicegateError(caught, 'INVALID_INPUT')).toBe(true);
  });
});
