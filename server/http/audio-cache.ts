import { readFile } from 'node:fs/promises';

/**
 * Recently played audio, in memory. Stored audio never changes (a new recording gets a new
 * key), so a cached copy is never stale. Serving from memory avoids a buffer per 64 KiB chunk
 * of a file stream, whose garbage made full collections, and a stat and an open per request.
 */
export class AudioCache {
  readonly #maxBytes: number;
  readonly #entries = new Map<string, Buffer>();
  #bytes = 0;

  constructor(maxBytes = 64 * 1024 * 1024) {
    this.#maxBytes = maxBytes;
  }

  async get(path: string): Promise<Buffer> {
    const hit = this.#entries.get(path);
    if (hit) {
      // Most recently used last.
      this.#entries.delete(path);
      this.#entries.set(path, hit);
      return hit;
    }
    const data = await readFile(path);
    if (data.length <= this.#maxBytes / 4) {
      this.#entries.set(path, data);
      this.#bytes += data.length;
      for (const [key, value] of this.#entries) {
        if (this.#bytes <= this.#maxBytes) break;
        this.#entries.delete(key);
        this.#bytes -= value.length;
      }
    }
    return data;
  }
}
