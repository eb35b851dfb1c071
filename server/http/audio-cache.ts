import type { AudioStore } from '../domain/ports.ts';

/**
 * Recently played audio, in memory. Stored audio never changes (a new recording gets a new
 * key), so a cached copy is never stale. Serving from memory avoids a buffer per 64 KiB chunk
 * of a stream, whose garbage made full collections, and a trip to the store per request.
 */
export class AudioCache {
  readonly #audio: AudioStore;
  readonly #maxBytes: number;
  readonly #entries = new Map<string, Buffer>();
  #bytes = 0;

  constructor(audio: AudioStore, maxBytes = 64 * 1024 * 1024) {
    this.#audio = audio;
    this.#maxBytes = maxBytes;
  }

  async get(key: string): Promise<Buffer> {
    const hit = this.#entries.get(key);
    if (hit) {
      // Most recently used last.
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit;
    }
    const data = await this.#audio.read(key);
    if (this.holds(data.length)) {
      this.#entries.set(key, data);
      this.#bytes += data.length;
      for (const [oldest, value] of this.#entries) {
        if (this.#bytes <= this.#maxBytes) break;
        this.#entries.delete(oldest);
        this.#bytes -= value.length;
      }
    }
    return data;
  }

  /** Whether audio of `bytes` is kept here; larger audio is better streamed than read whole. */
  holds(bytes: number): boolean {
    return bytes <= this.#maxBytes / 4;
  }
}
