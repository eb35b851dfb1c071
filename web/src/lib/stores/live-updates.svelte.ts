import { apiUrls } from '../api.ts';
import type { ChangeEvent } from '../api-types.ts';

interface Handlers {
  /** A `change` event from the server. */
  onChange: (event: ChangeEvent) => void;
  /** The stream came back after a gap: events may have been missed, so refetch. */
  onResync: () => void;
}

const MAX_DELAY_MS = 30_000;

/**
 * The server-sent event stream. The browser reconnects by itself after a network drop; when
 * it gives up (the server answered with an error), this reconnects with a growing delay.
 */
class LiveUpdates {
  #down = $state(false);
  #source: EventSource | null = null;
  #handlers: Handlers | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  #hadGap = false;

  /** True while the stream is down, so the page can say it may be out of date. */
  get down(): boolean {
    return this.#down;
  }

  start(handlers: Handlers): void {
    this.stop();
    this.#handlers = handlers;
    this.#connect();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#source?.close();
    this.#source = null;
    this.#handlers = null;
    this.#down = false;
    this.#failures = 0;
    this.#hadGap = false;
  }

  #connect(): void {
    const source = new EventSource(apiUrls.events);
    this.#source = source;
    source.addEventListener('open', () => {
      this.#down = false;
      this.#failures = 0;
      if (this.#hadGap) this.#handlers?.onResync();
      this.#hadGap = false;
    });
    source.addEventListener('change', (event) => {
      const data = parse((event as MessageEvent<string>).data);
      if (data) this.#handlers?.onChange(data);
    });
    source.addEventListener('error', () => {
      this.#down = true;
      this.#hadGap = true;
      if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
      source.close();
      const delay = Math.min(MAX_DELAY_MS, 1000 * 2 ** this.#failures++);
      this.#timer = setTimeout(() => {
        if (this.#source !== source) return;
        // A refetch now also finds out whether the session has ended.
        this.#handlers?.onResync();
        this.#connect();
      }, delay);
    });
  }
}

function parse(data: string): ChangeEvent | null {
  try {
    const value: unknown = JSON.parse(data);
    return value && typeof value === 'object' ? (value as ChangeEvent) : null;
  } catch {
    return null;
  }
}

export const liveUpdates = new LiveUpdates();
