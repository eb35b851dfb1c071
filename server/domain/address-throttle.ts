/**
 * Wrong codes per client address, over every mailbox and channel, kept in memory: one address
 * trying one code on many mailboxes never reaches any mailbox's own lockout, so it is counted
 * here too. Like the mailbox lockout, a try is taken before the code is checked (so concurrent
 * tries cannot overrun the limit) and given back only when the code was right.
 */
interface Tries {
  count: number;
  /** When the count starts again: the first try plus the window, or the block's end. */
  resetAt: number;
}

/** Addresses kept at most; the oldest entry goes first, so a flood of addresses cannot grow it. */
export const MAX_ADDRESSES = 10_000;

export class AddressThrottle {
  readonly #tries = new Map<string, Tries>();
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxEntries: number;

  /** `limit` 0 turns the throttle off. */
  constructor(limit: number, windowMs: number, maxEntries = MAX_ADDRESSES) {
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#maxEntries = maxEntries;
  }

  /** Takes a try for `key`; false when the address has used them all and is refused. */
  take(key: string, now: number): boolean {
    if (this.#limit === 0) return true;
    let tries = this.#tries.get(key);
    if (tries && tries.resetAt <= now) tries = undefined;
    tries ??= { count: 0, resetAt: now + this.#windowMs };
    if (tries.count >= this.#limit) return false;
    tries.count++;
    // The last try blocks the address for a whole window from now.
    if (tries.count >= this.#limit) tries.resetAt = now + this.#windowMs;
    this.#tries.delete(key);
    this.#tries.set(key, tries);
    if (this.#tries.size > this.#maxEntries) {
      this.#tries.delete(this.#tries.keys().next().value!);
    }
    return true;
  }

  /** Gives back a try whose code was right (or that was never checked). */
  giveBack(key: string): void {
    const tries = this.#tries.get(key);
    if (tries && tries.count > 0) tries.count--;
  }
}

/**
 * The client's address without its port ("192.0.2.1:5060", "[2001:db8::1]:5060") and without
 * the IPv4-mapped prefix, so one host is one key whichever channel it uses.
 */
export function clientAddress(remote: string): string {
  let address = remote.trim().toLowerCase();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) address = bracketed[1]!;
  else if (/^[^:]+:\d+$/.test(address)) address = address.slice(0, address.lastIndexOf(':'));
  return address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
}
