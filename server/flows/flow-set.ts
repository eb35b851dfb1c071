import { readFile, stat } from 'node:fs/promises';
import type { FlowLog } from './flow-deps.ts';
import type { FlowBook } from './flow.ts';
import { parseFlows, validateFlows, type ValidationContext } from './validate.ts';

export interface FlowSetOptions {
  /** The flows file (sip.flowsFile resolved against the data folder). */
  file: string;
  log: FlowLog;
  /** Mailboxes and prompts to check against, asked at each (re)load. */
  context?: () => Promise<ValidationContext> | ValidationContext;
}

const BUILTIN_ONLY: FlowBook = validateFlows(null).book!;

/**
 * The live flows: the file is checked (by modification time and size) at the start of each call
 * and read again when it changed. A file that does not validate is logged and ignored: the
 * previous good version stays in use, so a typo never takes the phones down. No file = the
 * built-in flows only.
 */
export class FlowSet {
  readonly #o: FlowSetOptions;
  #book: FlowBook = BUILTIN_ONLY;
  #stamp = '';
  #errors: string[] = [];
  #loadedAt: number | null = null;
  #loading: Promise<FlowBook> | null = null;

  constructor(opts: FlowSetOptions) {
    this.#o = opts;
  }

  /** The errors of the last version that failed to load, until a good one replaces it. */
  get errors(): readonly string[] {
    return this.#errors;
  }

  /** When the flows in use were read from the file (UTC ms); null: the built-in flows only. */
  get loadedAt(): number | null {
    return this.#loadedAt;
  }

  /** The flows to route this call with, reloaded first if the file changed. */
  current(): Promise<FlowBook> {
    this.#loading ??= this.#refresh().finally(() => (this.#loading = null));
    return this.#loading;
  }

  async #refresh(): Promise<FlowBook> {
    let stamp: string;
    try {
      const s = await stat(this.#o.file);
      stamp = `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      stamp = 'missing';
    }
    if (stamp === this.#stamp) return this.#book;
    this.#stamp = stamp;
    if (stamp === 'missing') {
      if (this.#book.source !== null)
        this.#o.log.info({ file: this.#o.file }, 'flows file removed: built-in flows only');
      this.#book = BUILTIN_ONLY;
      this.#errors = [];
      this.#loadedAt = null;
      return this.#book;
    }
    try {
      const text = await readFile(this.#o.file, 'utf8');
      const ctx = (await this.#o.context?.()) ?? {};
      const { book, errors } = parseFlows(text, ctx, this.#o.file);
      if (!book) {
        this.#errors = errors;
        this.#o.log.error(
          { file: this.#o.file, errors },
          'flows file is invalid: keeping the previous flows',
        );
        return this.#book;
      }
      this.#book = book;
      this.#errors = [];
      this.#loadedAt = Date.now();
      this.#o.log.info(
        { file: this.#o.file, flows: book.flows.size, numbers: book.byNumber.size },
        'flows loaded',
      );
    } catch (err) {
      this.#o.log.error(
        { file: this.#o.file, err },
        'flows file unreadable: keeping the previous flows',
      );
    }
    return this.#book;
  }
}
