/**
 * Records a caller's message from decoded audio (feed it RtpSession.onAudio). It ends on the
 * maximum length, on `silenceMs` of silence, or when told (a key, a hang-up), and trims the
 * trailing silence. No sockets, so it is unit-testable with plain arrays.
 *
 * Silence counts from the start: a caller who says nothing for `silenceMs` ends the recording
 * (empty), just as one who stops talking does. Time is measured two ways and the first to run
 * out wins: in audio received (exact, even when audio arrives in bursts) and on the wall clock
 * (so a caller whose phone sends no audio at all still ends after `silenceMs`, and after
 * `maxMs`).
 */

export type RecordingEnd = 'max' | 'silence' | 'key' | 'hangup' | 'stopped';

export interface Recording {
  samples: Int16Array;
  reason: RecordingEnd;
  durationMs: number;
  /** Whether any frame rose above the silence threshold. */
  heardSpeech: boolean;
}

export interface RecorderOptions {
  maxMs: number;
  silenceMs: number;
  /** RMS (16-bit units) below which a 20 ms block counts as silence; 300 is about -41 dBFS. */
  threshold?: number;
  /** Silence kept after the last speech so the message does not end abruptly. */
  keepTailMs?: number;
  now?: () => number;
}

const RATE = 8; // samples per ms
const BLOCK = 160;

export class Recorder {
  readonly done: Promise<Recording>;
  readonly #maxSamples: number;
  readonly #silenceSamples: number;
  readonly #thresholdSq: number;
  readonly #tail: number;
  readonly #silenceMs: number;
  readonly #now: () => number;
  readonly #deadline: number;
  #buf = new Int16Array(8000);
  #len = 0;
  #speechEnd = 0;
  #heardSpeech = false;
  #lastSpeechAt: number;
  #timer: NodeJS.Timeout | null = null;
  #finished = false;
  #resolve!: (r: Recording) => void;

  constructor(opts: RecorderOptions) {
    if (!(opts.maxMs > 0) || !(opts.silenceMs > 0))
      throw new RangeError('recorder needs maxMs and silenceMs above 0');
    this.#maxSamples = Math.round(opts.maxMs * RATE);
    this.#silenceSamples = Math.round(opts.silenceMs * RATE);
    this.#silenceMs = opts.silenceMs;
    const threshold = opts.threshold ?? 300;
    this.#thresholdSq = threshold * threshold;
    this.#tail = Math.round((opts.keepTailMs ?? 100) * RATE);
    this.#now = opts.now ?? (() => performance.now());
    const start = this.#now();
    this.#lastSpeechAt = start;
    this.#deadline = start + opts.maxMs;
    this.done = new Promise((resolve) => (this.#resolve = resolve));
    this.#arm();
  }

  get recording(): boolean {
    return !this.#finished;
  }

  /** Received audio, in order; ignored once the recording has ended. */
  push(samples: Int16Array): void {
    if (this.#finished) return;
    const room = this.#maxSamples - this.#len;
    const take = samples.length > room ? samples.subarray(0, room) : samples;
    this.#append(take);
    for (let start = this.#len - take.length; start < this.#len; start += BLOCK) {
      const end = Math.min(start + BLOCK, this.#len);
      if (this.#energy(start, end) >= this.#thresholdSq) {
        this.#heardSpeech = true;
        this.#speechEnd = end;
        this.#lastSpeechAt = this.#now();
      }
    }
    if (this.#len >= this.#maxSamples) this.#finish('max');
    else if (this.#len - this.#speechEnd >= this.#silenceSamples) this.#finish('silence');
  }

  /** Ends the recording now (the caller pressed a key, hung up, or the flow moved on). */
  stop(reason: 'key' | 'hangup' | 'stopped' = 'stopped'): void {
    this.#finish(reason);
  }

  #append(samples: Int16Array): void {
    const need = this.#len + samples.length;
    if (need > this.#buf.length) {
      const grown = new Int16Array(
        Math.min(this.#maxSamples, Math.max(need, this.#buf.length * 2)),
      );
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(samples, this.#len);
    this.#len = need;
  }

  #energy(start: number, end: number): number {
    let sum = 0;
    for (let i = start; i < end; i++) {
      const s = this.#buf[i]!;
      sum += s * s;
    }
    return sum / (end - start);
  }

  /** One timer, re-armed for whichever wall-clock limit comes first. */
  #arm(): void {
    const next = Math.min(this.#deadline, this.#lastSpeechAt + this.#silenceMs);
    this.#timer = setTimeout(this.#onTimer, Math.max(0, Math.ceil(next - this.#now())));
  }

  readonly #onTimer = (): void => {
    this.#timer = null;
    if (this.#finished) return;
    const now = this.#now();
    if (now >= this.#deadline) this.#finish('max');
    else if (now - this.#lastSpeechAt >= this.#silenceMs) this.#finish('silence');
    else this.#arm();
  };

  #finish(reason: RecordingEnd): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const keep = this.#heardSpeech ? Math.min(this.#len, this.#speechEnd + this.#tail) : 0;
    const samples = this.#buf.slice(0, keep);
    this.#buf = new Int16Array(0);
    this.#resolve({ samples, reason, durationMs: keep / RATE, heardSpeech: this.#heardSpeech });
  }
}
