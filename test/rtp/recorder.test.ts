import { describe, expect, it } from 'vitest';
import { Recorder } from '../../server/rtp/recorder.ts';
import { toneRatio } from '../helpers/goertzel.ts';
import { sine } from './fixtures.ts';

const silence = (ms: number) => new Int16Array(ms * 8);
/** Feeds audio in 20 ms chunks, as RtpSession.onAudio does. */
function feed(r: Recorder, audio: Int16Array): void {
  for (let i = 0; i < audio.length; i += 160) r.push(audio.subarray(i, i + 160));
}

describe('Recorder', () => {
  it('ends after silenceMs of silence and trims it, keeping a short tail', async () => {
    const r = new Recorder({ maxMs: 60000, silenceMs: 2000, keepTailMs: 100 });
    feed(r, silence(300));
    feed(r, sine(440, 1000));
    feed(r, silence(1900));
    expect(r.recording).toBe(true);
    feed(r, silence(200));
    expect(r.recording).toBe(false);
    const rec = await r.done;
    expect(rec.reason).toBe('silence');
    expect(rec.durationMs).toBe(1400);
    expect(rec.samples.length).toBe(1400 * 8);
    expect(toneRatio(rec.samples.subarray(300 * 8, 1300 * 8), 440)).toBeGreaterThan(0.95);
  });

  it('ends at maxMs of audio', async () => {
    const r = new Recorder({ maxMs: 1500, silenceMs: 1000 });
    feed(r, sine(1000, 3000));
    const rec = await r.done;
    expect(rec.reason).toBe('max');
    expect(rec.samples.length).toBe(1500 * 8);
  });

  it('ends after silenceMs when the caller sends no audio at all', async () => {
    const t0 = performance.now();
    const rec = await new Recorder({ maxMs: 5000, silenceMs: 150 }).done;
    expect(rec).toMatchObject({ reason: 'silence', heardSpeech: false, durationMs: 0 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(145);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('ends at maxMs on the wall clock when audio stops arriving mid-message', async () => {
    const r = new Recorder({ maxMs: 300, silenceMs: 10000 });
    feed(r, sine(440, 100));
    const rec = await r.done;
    expect(rec.reason).toBe('max');
    expect(rec.durationMs).toBe(100);
  });

  it('stops when told, and ignores audio afterwards', async () => {
    const r = new Recorder({ maxMs: 60000, silenceMs: 5000, keepTailMs: 0 });
    feed(r, sine(440, 500));
    r.stop('key');
    feed(r, sine(440, 500));
    r.stop('hangup');
    const rec = await r.done;
    expect(rec.reason).toBe('key');
    expect(rec.samples.length).toBe(4000);
  });
});
