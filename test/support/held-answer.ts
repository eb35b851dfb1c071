import type { ServerResponse } from 'node:http';

/**
 * An answer a test server makes when its request arrives (so it shows the mailbox as it was
 * then) but sends only when the test releases it: a client that read before something changed,
 * and acts on what it read after the change. Only the first answer that mentions `mentions`
 * (an item id) is held; others go out at once.
 */
export class HeldAnswer {
  /** Settles when the request arrived and its answer was made. */
  readonly arrived: Promise<void>;
  readonly #mentions: string;
  readonly #released: Promise<void>;
  #arrive!: () => void;
  #release!: () => void;
  #used = false;

  constructor(mentions: string) {
    this.#mentions = mentions;
    this.arrived = new Promise((resolve) => (this.#arrive = resolve));
    this.#released = new Promise((resolve) => (this.#release = resolve));
  }

  /** Sends the answer. */
  release(): void {
    this.#release();
  }

  /** Holds `res`'s answer (its status and headers go with its end) until release(), if it is the one. */
  offer(res: ServerResponse): void {
    if (this.#used) return;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.end = ((...args: unknown[]) => {
      const body = args[0];
      const text = typeof body === 'string' || Buffer.isBuffer(body) ? body.toString() : '';
      if (this.#used || !text.includes(this.#mentions)) return end(...args);
      this.#used = true;
      void this.#released.then(() => end(...args));
      this.#arrive();
      return res;
    }) as ServerResponse['end'];
  }
}
