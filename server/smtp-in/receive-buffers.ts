import type { Readable } from 'node:stream';

/**
 * Buffers that a mail's DATA and its decoded audio go into, used again by the next mails. New
 * buffers per mail (Buffer.concat of the socket's chunks, then the audio) were 2.4 MB more outside
 * V8's heap per 1 MB voicemail, and V8 starts a full collection of its whole heap when that memory
 * has grown by some megabytes since the last one: with the socket's chunks, every two or three
 * mails. A buffer taken here is the caller's until it gives it back, once nothing reads it any
 * more. At most `keepBytes` wait for the next mails, and none once no mail has come for
 * `idleMs`: a server at rest holds none.
 */
export class ReceiveBuffers {
  readonly #free: Buffer[] = [];
  readonly #keepBytes: number;
  #freeBytes = 0;
  readonly #idleMs: number;
  #idle: NodeJS.Timeout | null = null;

  constructor(opts: { keepBytes: number; idleMs: number }) {
    this.#keepBytes = opts.keepBytes;
    this.#idleMs = opts.idleMs;
  }

  /** Buffers waiting for a mail. */
  get waiting(): number {
    return this.#free.length;
  }

  /**
   * Reads the stream to its end into one buffer, keeping at most `limit` bytes (the rest is read
   * and dropped); `bytes` counts all. `release` gives the buffer back: `raw` must not be read
   * after it.
   */
  read(
    stream: Readable,
    limit: number,
    sizeHint = 0,
  ): Promise<{ raw: Buffer; bytes: number; release: () => void }> {
    return new Promise((resolve, reject) => {
      let buffer = this.take(initialSize(sizeHint, limit));
      let bytes = 0;
      let kept = 0;
      let done = false;
      const release = (): void => {
        if (done) return;
        done = true;
        this.giveBack(buffer);
      };
      stream.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > limit) return;
        if (kept + chunk.length > buffer.length) {
          const bigger = Buffer.allocUnsafeSlow(
            Math.min(limit, Math.max(2 * buffer.length, kept + chunk.length)),
          );
          buffer.copy(bigger, 0, 0, kept);
          buffer = bigger;
        }
        kept += chunk.copy(buffer, kept);
      });
      stream.once('end', () => resolve({ raw: buffer.subarray(0, kept), bytes, release }));
      stream.once('error', (err) => {
        release();
        reject(err);
      });
    });
  }

  /** A buffer of at least `size` bytes: the smallest waiting one that fits, else a new one. */
  take(size: number): Buffer {
    let best = -1;
    this.#free.forEach((b, i) => {
      if (b.length >= size && (best === -1 || b.length < this.#free[best]!.length)) best = i;
    });
    if (best === -1) return Buffer.allocUnsafeSlow(size);
    const [buffer] = this.#free.splice(best, 1);
    this.#freeBytes -= buffer!.length;
    return buffer!;
  }

  /** Gives back a buffer from `take`: nothing may read or write it after. */
  giveBack(buffer: Buffer): void {
    if (this.#freeBytes + buffer.length <= this.#keepBytes) {
      this.#free.push(buffer);
      this.#freeBytes += buffer.length;
    }
    this.#idle?.refresh();
    this.#idle ??= setTimeout(() => {
      this.#free.length = 0;
      this.#freeBytes = 0;
      this.#idle = null;
    }, this.#idleMs).unref();
  }
}

/** A first buffer of the size the sender declared (MAIL FROM's SIZE=), else a small one. */
function initialSize(sizeHint: number, limit: number): number {
  const declared = Number.isSafeInteger(sizeHint) && sizeHint > 0 ? sizeHint : 0;
  return Math.max(1, Math.min(limit, declared || 256 * 1024));
}
