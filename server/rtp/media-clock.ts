/**
 * One 20 ms ticker for every RTP sender in the process. A timer per call drifts and, with
 * hundreds of calls, wakes the event loop hundreds of times per period; one drift-free ticker
 * (re-armed against t0 + n * step - now) wakes it a few times per period instead. Senders are
 * spread over `phases` groups, each with its own offset in the period: a tick sends one group's
 * packets, so the last sender of a tick waits for a quarter of the calls, not all of them.
 *
 * Each packet's lateness against its tick's ideal time goes into a fixed histogram
 * (`Lateness`), so a benchmark can read p50/p99/max without the clock allocating per packet.
 */

import { Lateness } from './lateness.ts';

/** Something the clock drives: called once per tick with that tick's ideal time (ms, the clock's
 * time base); returns how many packets it sent. */
export interface Paced {
  tick(idealMs: number): number;
}

export interface ClockStats {
  ticks: number;
  packets: number;
  /** Ticks skipped because the event loop was blocked for more than `maxCatchUpMs`. */
  skippedTicks: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface MediaClockOptions {
  periodMs?: number;
  /** Groups of senders, each ticking at its own offset within the period. */
  phases?: number;
  /** Ticks this far behind are sent late in a burst; beyond it the clock skips ahead. */
  maxCatchUpMs?: number;
  now?: () => number;
}

export class MediaClock {
  readonly periodMs: number;
  readonly #phases: number;
  readonly #stepMs: number;
  readonly #maxCatchUpMs: number;
  readonly #now: () => number;
  readonly #groups: Set<Paced>[];
  readonly #groupOf = new Map<Paced, Set<Paced>>();
  #timer: NodeJS.Timeout | null = null;
  /** When the armed timer's tick is due (the clock's time base). */
  #due = 0;
  /** Inside #onTimer: add/remove leave the timer to it. */
  #ticking = false;
  #t0 = 0;
  #n = 0;
  readonly #lateness = new Lateness();
  #ticks = 0;
  #skipped = 0;

  constructor(opts: MediaClockOptions = {}) {
    this.periodMs = opts.periodMs ?? 20;
    this.#phases = Math.max(1, Math.floor(opts.phases ?? 4));
    this.#stepMs = this.periodMs / this.#phases;
    this.#groups = Array.from({ length: this.#phases }, () => new Set<Paced>());
    this.#maxCatchUpMs = opts.maxCatchUpMs ?? 100;
    this.#now = opts.now ?? (() => performance.now());
  }

  /** The clock's time base (performance.now() unless injected). */
  now(): number {
    return this.#now();
  }

  get size(): number {
    return this.#groupOf.size;
  }

  /** Starts driving `source` from its group's next tick; the ticker runs only while sources exist. */
  add(source: Paced): void {
    if (this.#groupOf.has(source)) return;
    const group = this.#groups.reduce((a, b) => (b.size < a.size ? b : a));
    group.add(source);
    this.#groupOf.set(source, group);
    if (this.#timer === null && !this.#ticking) {
      this.#t0 = this.#now();
      this.#n = 0;
      this.#arm();
    }
  }

  remove(source: Paced): void {
    this.#groupOf.get(source)?.delete(source);
    this.#groupOf.delete(source);
    if (this.#groupOf.size === 0 && this.#timer !== null && !this.#ticking) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  #arm(): void {
    const due = this.#t0 + this.#n * this.#stepMs;
    this.#due = due;
    const delay = Math.max(0, Math.round(due - this.#now()));
    this.#timer = setTimeout(this.#onTimer, delay);
  }

  /**
   * Runs a tick that is due now instead of waiting for its timer. Receivers call it per packet:
   * a burst of arrivals (every caller's packets at once) is handled in one pass of the event
   * loop before timers run, and would otherwise hold the tick back behind it.
   */
  poll(): void {
    if (this.#timer === null || this.#ticking || this.#now() < this.#due) return;
    clearTimeout(this.#timer);
    this.#onTimer();
  }

  readonly #onTimer = (): void => {
    this.#timer = null;
    this.#ticking = true;
    try {
      this.#runDueTicks();
    } finally {
      this.#ticking = false;
    }
    if (this.#groupOf.size > 0) this.#arm();
  };

  #runDueTicks(): void {
    let now = this.#now();
    let ideal = this.#t0 + this.#n * this.#stepMs;
    if (now - ideal > this.#maxCatchUpMs) {
      // Blocked for a long time: skip whole periods rather than burst a second of audio.
      const behind = Math.floor((now - ideal) / this.periodMs);
      this.#n += behind * this.#phases;
      this.#skipped += behind;
      ideal = this.#t0 + this.#n * this.#stepMs;
    }
    while (ideal <= now + 0.25 && this.#groupOf.size > 0) {
      const phase = this.#n % this.#phases;
      if (phase === 0) this.#ticks++;
      for (const source of this.#groups[phase]!) {
        const late = this.#now() - ideal;
        let sent = 0;
        try {
          sent = source.tick(ideal);
        } catch {
          // A sender that throws is a bug; dropping it keeps every other call's audio going.
          this.remove(source);
        }
        if (sent > 0) this.#record(late, sent);
      }
      this.#n++;
      ideal += this.#stepMs;
      now = this.#now();
    }
  }

  #record(lateMs: number, count: number): void {
    this.#lateness.record(lateMs, count);
  }

  /** The lateness histogram (`Lateness.histogram`), for /metrics. */
  latenessHistogram(boundsMs: readonly number[]): ReturnType<Lateness['histogram']> {
    return this.#lateness.histogram(boundsMs);
  }

  stats(): ClockStats {
    return { ticks: this.#ticks, skippedTicks: this.#skipped, ...this.#lateness.stats() };
  }

  resetStats(): void {
    this.#lateness.reset();
    this.#ticks = 0;
    this.#skipped = 0;
  }
}

/** The process's clock. Constructing it starts nothing; it ticks only while a call sends. */
export const sharedClock = new MediaClock();
