/**
 * Work that waits while connections are being accepted: a new connection's session set-up (its
 * greeting went out as it was accepted) and log-ins. In a burst (a server restarted, every client
 * reconnecting at once) libuv accepts one connection per turn of the event loop (it relies on the
 * listening socket staying readable: libuv/libuv#3696) and runs whatever else is ready in that
 * turn. Each turn that also set up a session or started a log-in (its store reads and the attempt
 * recorded before the code is checked: the work of several greetings) held back the next
 * connection, so the last greetings of a burst waited behind the sessions and log-ins of the
 * first.
 *
 * So such work starts only in a turn that accepted no connection: while connections keep coming,
 * each turn is one connection accepted and greeted; once the queue is empty, the work waiting
 * runs, one item per turn, in the order it came, so a connection arriving meanwhile waits at most
 * one. Work waits for new connections at most `maxWaitMs`: a flood of connections slows it down
 * but never stops it. The code check itself (on the code-hashing threads) is not held up.
 */
export class QuietTurns {
  readonly #maxWaitMs: number;
  readonly #waiting: { start: () => void; since: number }[] = [];
  #scheduled = false;
  /** Connections accepted so far, and how many of them the last turn had seen. */
  #accepted = 0;
  #seen = 0;

  constructor(maxWaitMs = 250) {
    this.#maxWaitMs = maxWaitMs;
  }

  /** A connection was accepted (in this turn's poll for I/O). */
  accepted(): void {
    this.#accepted++;
  }

  /** Runs `start` in a turn that accepted no connection, once the work ahead of it ran. */
  take(start: () => void): void {
    this.#waiting.push({ start, since: performance.now() });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#turn);
    }
  }

  readonly #turn = (): void => {
    const head = this.#waiting[0]!;
    const busy = this.#accepted !== this.#seen;
    this.#seen = this.#accepted;
    if (busy && performance.now() - head.since < this.#maxWaitMs) {
      setImmediate(this.#turn);
      return;
    }
    this.#waiting.shift();
    // The next turn is set before this one runs, so that a throw cannot stop the line.
    if (this.#waiting.length > 0) setImmediate(this.#turn);
    else this.#scheduled = false;
    head.start();
  };
}
