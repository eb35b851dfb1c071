/** The configured number of simultaneous calls ("ports"); calls beyond it are refused and counted. */
export class CallCounter {
  readonly limit: number;
  #active = 0;
  #refused = 0;
  #total = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** A slot for one call, or null when every port is busy. */
  take(): { release(): void } | null {
    if (this.#active >= this.limit) {
      this.#refused++;
      return null;
    }
    this.#active++;
    this.#total++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#active--;
      },
    };
  }

  stats(): { active: number; refused: number; total: number; limit: number } {
    return { active: this.#active, refused: this.#refused, total: this.#total, limit: this.limit };
  }
}
