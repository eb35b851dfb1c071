/**
 * The receive side's reorder buffer, without sockets or timers. Packets are placed by RTP
 * timestamp (signed 32-bit differences, so wrap-around is harmless) and released in order as
 * soon as the next expected one is there. A hole is waited for while the buffered audio spans
 * less than `playoutMs`, then filled with silence. Everything is bounded: at most `maxPackets`
 * are held, a gap is filled with at most `maxGapMs` of silence, and silence is paid from a
 * budget that refills in real time, so a flood of packets with wild timestamps cannot make us
 * emit more silence than the call has lasted.
 */
import { tsDiff } from './rtp-packet.ts';

export interface PlayoutSink {
  /** One payload, in order (G.711: one byte per sample). */
  frame(payloadType: number, payload: Uint8Array): void;
  /** `samples` of silence standing for lost or suppressed audio. */
  silence(samples: number): void;
}

export interface PlayoutOptions {
  playoutMs?: number;
  maxGapMs?: number;
  maxPackets?: number;
  silenceBudgetMs?: number;
  now?: () => number;
}

export interface PlayoutStats {
  lost: number;
  late: number;
  duplicates: number;
  /** Holes skipped early because the buffer was full. */
  overflows: number;
  ssrcChanges: number;
  /** Timestamp jumps beyond `maxGapMs` (a restarted stream or long silence suppression). */
  tsJumps: number;
}

interface Held {
  ts: number;
  seq: number;
  pt: number;
  payload: Uint8Array;
}

const SAMPLES_PER_MS = 8;
const SEQ_RING = 64;

export class PlayoutBuffer {
  readonly #sink: PlayoutSink;
  readonly #window: number;
  readonly #maxGap: number;
  readonly #maxPackets: number;
  readonly #budgetCap: number;
  readonly #now: () => number;
  readonly #held: Held[] = [];
  /** Recently seen sequence numbers, to tell a duplicate from a late packet. */
  readonly #seqs = new Int32Array(SEQ_RING).fill(-1);
  #started = false;
  #ssrc = 0;
  #nextTs = 0;
  #frameSamples = 160;
  #budget: number;
  #budgetAt: number;
  readonly stats: PlayoutStats = {
    lost: 0,
    late: 0,
    duplicates: 0,
    overflows: 0,
    ssrcChanges: 0,
    tsJumps: 0,
  };

  constructor(sink: PlayoutSink, opts: PlayoutOptions = {}) {
    this.#sink = sink;
    this.#window = (opts.playoutMs ?? 60) * SAMPLES_PER_MS;
    this.#maxGap = (opts.maxGapMs ?? 1000) * SAMPLES_PER_MS;
    this.#maxPackets = opts.maxPackets ?? 50;
    this.#budgetCap = (opts.silenceBudgetMs ?? 5000) * SAMPLES_PER_MS;
    this.#now = opts.now ?? (() => performance.now());
    this.#budget = this.#budgetCap;
    this.#budgetAt = this.#now();
  }

  get buffered(): number {
    return this.#held.length;
  }

  push(ssrc: number, seq: number, ts: number, pt: number, payload: Uint8Array): void {
    if (payload.length === 0) return;
    if (!this.#started) {
      this.#started = true;
      this.#ssrc = ssrc;
      this.#nextTs = ts;
    } else if (ssrc !== this.#ssrc) {
      // A new source (a transfer, a re-INVITE, a restarted phone): play out the old one, re-base.
      this.flush();
      this.stats.ssrcChanges++;
      this.#ssrc = ssrc;
      this.#nextTs = ts;
      this.#seqs.fill(-1);
    } else {
      const d = tsDiff(ts, this.#nextTs);
      if (d > this.#maxGap || d < -this.#maxGap) {
        this.flush();
        this.stats.tsJumps++;
        const gap = tsDiff(ts, this.#nextTs);
        if (gap > 0) this.#fill(gap);
        this.#nextTs = ts;
      } else if (d < 0) {
        if (this.#seqs[seq % SEQ_RING] === seq) this.stats.duplicates++;
        else this.stats.late++;
        return;
      }
    }
    // Insert by timestamp, from the end: packets nearly always arrive in order.
    const held = this.#held;
    let i = held.length;
    while (i > 0 && tsDiff(held[i - 1]!.ts, ts) > 0) i--;
    if (i > 0 && held[i - 1]!.ts === ts) {
      this.stats.duplicates++;
      return;
    }
    held.splice(i, 0, { ts, seq, pt, payload });
    this.#seqs[seq % SEQ_RING] = seq;
    this.#drain(false);
  }

  /** True when packets wait behind a missing one; the owner calls flush() if it persists. */
  get waiting(): boolean {
    return this.#held.length > 0;
  }

  /** Releases everything held, filling holes with silence (the hole waited long enough). */
  flush(): void {
    this.#drain(true);
  }

  #drain(force: boolean): void {
    const held = this.#held;
    while (held.length > 0) {
      const head = held[0]!;
      const d = tsDiff(head.ts, this.#nextTs);
      if (d <= 0) {
        held.shift();
        if (d < 0) {
          this.stats.late++;
          continue;
        }
        this.#frameSamples = head.payload.length;
        this.#nextTs = (head.ts + head.payload.length) >>> 0;
        this.#sink.frame(head.pt, head.payload);
        continue;
      }
      const tail = held[held.length - 1]!;
      const span = tsDiff(tail.ts + tail.payload.length, this.#nextTs);
      const full = held.length >= this.#maxPackets;
      if (!force && !full && span <= this.#window) return;
      if (full && !force) this.stats.overflows++;
      this.stats.lost += Math.max(1, Math.round(d / this.#frameSamples));
      this.#fill(d);
      this.#nextTs = head.ts;
    }
  }

  #fill(samples: number): void {
    const now = this.#now();
    this.#budget = Math.min(
      this.#budgetCap,
      this.#budget + (now - this.#budgetAt) * SAMPLES_PER_MS,
    );
    this.#budgetAt = now;
    const n = Math.floor(Math.min(samples, this.#maxGap, this.#budget));
    if (n <= 0) return;
    this.#budget -= n;
    this.#sink.silence(n);
  }
}
