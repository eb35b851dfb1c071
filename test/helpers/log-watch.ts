import { PassThrough } from 'node:stream';

/** One record of the server's JSON log. */
export interface LogEntry {
  msg: string;
  level: number;
  [field: string]: unknown;
}

/**
 * A server's log as it is written (pino's JSON lines on `stream`), for tests to wait on what
 * the server did instead of sleeping. `next` reads forward, so a test follows a call in order:
 * each wait finds the first matching record after the one the previous wait found.
 */
export class LogWatch {
  /** Give this to the logger as its destination. */
  readonly stream = new PassThrough();
  readonly entries: LogEntry[] = [];
  #partial = '';
  #cursor = 0;
  readonly #waiters = new Set<() => void>();

  constructor() {
    this.stream.on('data', (chunk: Buffer) => {
      const lines = (this.#partial + chunk.toString()).split('\n');
      this.#partial = lines.pop()!;
      for (const line of lines) if (line) this.entries.push(JSON.parse(line) as LogEntry);
      for (const wake of [...this.#waiters]) wake();
    });
  }

  /** The records logged with this message (and these field values), from the start. */
  logged(msg: string, fields: Record<string, unknown> = {}): LogEntry[] {
    return this.entries.filter((e) => matches(e, msg, fields));
  }

  /**
   * The first record with this message (and these field values) after the one the previous
   * `next` found, waiting for it up to `timeoutMs`; fails with the last records logged.
   */
  async next(
    msg: string,
    fields: Record<string, unknown> = {},
    timeoutMs = 30_000,
  ): Promise<LogEntry> {
    const found = await new Promise<number>((resolve, reject) => {
      const look = (): boolean => {
        for (let i = this.#cursor; i < this.entries.length; i++) {
          if (!matches(this.entries[i]!, msg, fields)) continue;
          done();
          resolve(i);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`the server never logged ${describe(msg, fields)}${this.#tail()}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(look);
      };
      if (!look()) this.#waiters.add(look);
    });
    this.#cursor = found + 1;
    return this.entries[found]!;
  }

  /**
   * Waits until the call starts collecting keys for `menu` (a voicemail prompt name such as
   * `main-menu` or `enter-code`, `recording`, or a flow menu's step id): keys typed from then on
   * answer it.
   */
  collecting(menu: string, timeoutMs = 30_000): Promise<LogEntry> {
    return this.next('collecting keys', { menu }, timeoutMs);
  }

  #tail(): string {
    const last = this.entries.slice(-20).map((e) => {
      const { msg, menu, step, err } = e as Record<string, unknown>;
      return `  ${[msg, menu, step, err && JSON.stringify(err)].filter(Boolean).join(' ')}`;
    });
    return `; the last records:\n${last.join('\n')}`;
  }
}

function matches(entry: LogEntry, msg: string, fields: Record<string, unknown>): boolean {
  return entry.msg === msg && Object.entries(fields).every(([k, v]) => entry[k] === v);
}

function describe(msg: string, fields: Record<string, unknown>): string {
  const extra = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
  return `"${msg}"${extra}`;
}
