/**
 * The messages chosen for a bulk action: some listed ones (click, shift-click for a range), or
 * every message matching the folder's search, loaded or not ("select all matching").
 */
class Selection {
  #ids = $state.raw(new Set<string>());
  #allMatching = $state(false);
  #anchor: string | null = null;

  get ids(): ReadonlySet<string> {
    return this.#ids;
  }
  get allMatching(): boolean {
    return this.#allMatching;
  }
  get active(): boolean {
    return this.#allMatching || this.#ids.size > 0;
  }
  has(id: string): boolean {
    return this.#allMatching || this.#ids.has(id);
  }

  /** A click on a message's box; with shift, every message between it and the last one clicked. */
  toggle(id: string, order: readonly { id: string }[], range = false): void {
    const next = new Set(this.#allMatching ? order.map((m) => m.id) : this.#ids);
    this.#allMatching = false;
    const to = order.findIndex((m) => m.id === id);
    const from = range && this.#anchor ? order.findIndex((m) => m.id === this.#anchor) : -1;
    if (from >= 0 && to >= 0) {
      const on = !next.has(id);
      for (const m of order.slice(Math.min(from, to), Math.max(from, to) + 1))
        if (on) next.add(m.id);
        else next.delete(m.id);
    } else if (next.has(id)) next.delete(id);
    else next.add(id);
    this.#anchor = id;
    this.#ids = next;
  }

  selectAllMatching(): void {
    this.#allMatching = true;
  }

  clear(): void {
    this.#ids = new Set();
    this.#allMatching = false;
    this.#anchor = null;
  }
}

export const selection = new Selection();
