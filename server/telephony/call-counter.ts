export interface CallLimits {
  /** Simultaneous calls in all ("ports"). */
  limit: number;
  /** Simultaneous calls from one source address; default no limit but `limit`. */
  perSource?: number;
  /** Sources the per-source limit does not apply to (trusted PBXs). */
  exempt?: (address: string) => boolean;
}

export type Refusal = 'all-busy' | 'source-busy';

/**
 * The simultaneous-call limits: all calls, and calls from one source address that is not
 * exempt, so that one caller cannot take every port. Calls beyond them are refused and counted.
 */
export class CallCounter {
  readonly limit: number;
  readonly perSource: number;
  readonly #exempt: (address: string) => boolean;
  readonly #bySource = new Map<string, number>();
  #active = 0;
  #refused = 0;
  #refusedPerSource = 0;
  #total = 0;
  readonly #idleWaiters: (() => void)[] = [];

  constructor(limits: CallLimits | number) {
    const l = typeof limits === 'number' ? { limit: limits } : limits;
    this.limit = l.limit;
    this.perSource = l.perSource ?? l.limit;
    this.#exempt = l.exempt ?? (() => false);
  }

  /** A slot for one call, or null when every port (or every one this source may use) is busy. */
  take(source?: string): { release(): void } | null {
    return this.admit(source).slot;
  }

  /** As take(), saying which limit refused. */
  admit(
    source?: string,
  ): { slot: { release(): void }; refused?: never } | { slot: null; refused: Refusal } {
    if (this.#active >= this.limit) {
      this.#refused++;
      return { slot: null, refused: 'all-busy' };
    }
    const counted = source !== undefined && !this.#exempt(source) ? source : null;
    const mine = counted === null ? 0 : (this.#bySource.get(counted) ?? 0);
    if (counted !== null && mine >= this.perSource) {
      this.#refused++;
      this.#refusedPerSource++;
      return { slot: null, refused: 'source-busy' };
    }
    if (counted !== null) this.#bySource.set(counted, mine + 1);
    this.#active++;
    this.#total++;
    let released = false;
    return {
      slot: {
        release: () => {
          if (released) return;
          released = true;
          this.#active--;
          if (this.#active === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
          if (counted === null) return;
          const left = (this.#bySource.get(counted) ?? 1) - 1;
          if (left > 0) this.#bySource.set(counted, left);
          else this.#bySource.delete(counted);
        },
      },
    };
  }

  /** Resolves once no call holds a slot (at once if none does). */
  idle(): Promise<void> {
    if (this.#active === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Calls from one source now (0 for an exempt one). */
  activeFrom(source: string): number {
    return this.#bySource.get(source) ?? 0;
  }

  stats(): {
    active: number;
    refused: number;
    refusedPerSource: number;
    total: number;
    limit: number;
    perSource: number;
  } {
    return {
      active: this.#active,
      refused: this.#refused,
      refusedPerSource: this.#refusedPerSource,
      total: this.#total,
      limit: this.limit,
      perSource: this.perSource,
    };
  }
}
