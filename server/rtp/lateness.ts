/**
 * How late packets were sent against their ideal times, in 0.05 ms buckets up to 200 ms (the
 * max is exact), so p50/p99 cost nothing per packet. The media clock keeps one; the benchmark's
 * yardstick and callers keep their own, so every figure is measured the same way.
 */
export interface LatenessStats {
  packets: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const BUCKET_MS = 0.05;
const BUCKETS = 4000; // 0-200 ms; later packets land in the last bucket (max is exact).

export class Lateness {
  readonly #hist = new Uint32Array(BUCKETS);
  #packets = 0;
  #sum = 0;
  #max = 0;

  record(lateMs: number, count = 1): void {
    const late = lateMs > 0 ? lateMs : 0;
    this.#hist[Math.min(BUCKETS - 1, Math.floor(late / BUCKET_MS))]! += count;
    this.#packets += count;
    this.#sum += late * count;
    if (late > this.#max) this.#max = late;
  }

  stats(): LatenessStats {
    const pct = (p: number): number => {
      if (this.#packets === 0) return 0;
      const target = Math.ceil(this.#packets * p);
      let seen = 0;
      for (let i = 0; i < BUCKETS; i++) {
        seen += this.#hist[i]!;
        if (seen >= target) return Math.min((i + 1) * BUCKET_MS, this.#max);
      }
      return this.#max;
    };
    return {
      packets: this.#packets,
      meanMs: this.#packets ? this.#sum / this.#packets : 0,
      p50Ms: pct(0.5),
      p99Ms: pct(0.99),
      maxMs: this.#max,
    };
  }

  /**
   * Packets at most each bound late (cumulative, as a Prometheus histogram's buckets; bounds in
   * ms, rising, on the 0.05 ms grid), the packets in all and the sum of their lateness.
   */
  histogram(boundsMs: readonly number[]): { buckets: number[]; packets: number; sumMs: number } {
    const buckets: number[] = [];
    let seen = 0;
    let i = 0;
    for (const bound of boundsMs) {
      const last = Math.min(BUCKETS, Math.round(bound / BUCKET_MS));
      for (; i < last; i++) seen += this.#hist[i]!;
      buckets.push(seen);
    }
    return { buckets, packets: this.#packets, sumMs: this.#sum };
  }

  reset(): void {
    this.#hist.fill(0);
    this.#packets = 0;
    this.#sum = 0;
    this.#max = 0;
  }
}
