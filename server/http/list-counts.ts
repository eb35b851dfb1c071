/**
 * The web list's counts, kept per mailbox for its current modification sequence: a page asked
 * again while nothing changed (the next page, a refetch, another tab) does not count the whole
 * mailbox again. Every change to a mailbox raises its modification sequence, so a count is
 * used only at the sequence it was taken at or after; a newer sequence starts afresh.
 */

/** Messages per category, as the list shows them (MessageService.counts). */
export interface MessageCounts {
  new: number;
  old: number;
  saved: number;
  deleted: number;
}

/** Searches remembered per mailbox and sequence; a few are plenty (a user's current ones). */
const SEARCHES = 16;
/** Mailboxes remembered, the least recently asked forgotten first. */
const MAILBOXES = 1000;

interface Entry {
  modseq: number;
  counts: MessageCounts | undefined;
  /** A search's total, by the search (its criteria without cursor or limit). */
  totals: Map<string, number>;
}

/** One mailbox for ever: its id with its creation time, since a deleted mailbox's id comes back. */
export function mailboxKey(box: { id: number; createdAt: number }): string {
  return `${box.id}.${box.createdAt}`;
}

export class ListCounts {
  /** By mailbox key (`mailboxKey`): an id alone may be a deleted mailbox's, taken again. */
  readonly #boxes = new Map<string, Entry>();

  /** What is known of `mailboxId` at `modseq`: its counts, and the total of `search`. */
  get(
    mailboxId: string,
    modseq: number,
    search: string,
  ): { counts?: MessageCounts; total?: number } {
    const entry = this.#entry(mailboxId, modseq);
    const total = entry.totals.get(search);
    return {
      ...(entry.counts ? { counts: entry.counts } : {}),
      ...(total !== undefined ? { total } : {}),
    };
  }

  /**
   * Keeps what was counted after `modseq` was read: a change since then raised the sequence,
   * so nothing asks for `modseq` again but a request that read it before that change.
   */
  set(
    mailboxId: string,
    modseq: number,
    search: string,
    found: { counts: MessageCounts; total: number },
  ): void {
    const entry = this.#entry(mailboxId, modseq);
    entry.counts = found.counts;
    if (entry.totals.size >= SEARCHES) entry.totals.delete(entry.totals.keys().next().value!);
    entry.totals.set(search, found.total);
  }

  #entry(mailboxId: string, modseq: number): Entry {
    let entry = this.#boxes.get(mailboxId);
    if (entry && entry.modseq >= modseq) {
      // Most recently asked last: the first one in the map is the one to forget.
      this.#boxes.delete(mailboxId);
      this.#boxes.set(mailboxId, entry);
      if (entry.modseq === modseq) return entry;
      // A request that read an older sequence: it neither uses nor replaces the newer entry.
      return { modseq, counts: undefined, totals: new Map() };
    }
    entry = { modseq, counts: undefined, totals: new Map() };
    this.#boxes.delete(mailboxId);
    if (this.#boxes.size >= MAILBOXES) this.#boxes.delete(this.#boxes.keys().next().value!);
    this.#boxes.set(mailboxId, entry);
    return entry;
  }
}
