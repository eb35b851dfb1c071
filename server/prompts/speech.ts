import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import type { PromptLog, PromptSource, Speech } from './ports.ts';
import { hasCommand } from '../tools.ts';
import { beep } from './beep.ts';
import { KEY_PROMPTS } from './digits.ts';
import { espeakVoice, normalizeLanguage } from './voices.ts';

export interface EspeakSpeechOptions {
  /** Digit prompts (zero..nine, star, pound) for digit strings when espeak-ng is missing. */
  prompts: PromptSource;
  log?: PromptLog;
  /** Whether espeak-ng and sox are installed; asked once, at the first `say`, when not given. */
  available?: boolean;
  /** The time limit of one synthesis (espeak-ng and sox), counted from its start, plus `perCharMs`. */
  timeoutMs?: number;
  /** Entries kept (each a few KB to a few hundred KB). */
  cacheSize?: number;
  /** Longer text is cut: a caller-supplied name must not keep espeak-ng busy for minutes. */
  maxChars?: number;
  /** Syntheses run at once; the others wait their turn (default: the machine's cores). */
  concurrency?: number;
}

/** Each character of text adds this to a synthesis's time limit (an e-mail's part is 280). */
const PER_CHAR_MS = 20;

function run(text: string, voice: string, timeoutMs: number): Promise<Int16Array> {
  return new Promise((resolve, reject) => {
    // No shell: the text is one argument, whatever it holds. `--` ends espeak-ng's options.
    const espeak = spawn('espeak-ng', ['-v', voice, '-s', '160', '--stdout', '--', text], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const sox = spawn(
      'sox',
      [
        '-R',
        '-t',
        'wav',
        '-',
        '-t',
        'raw',
        '-r',
        '8000',
        '-c',
        '1',
        '-b',
        '16',
        '-e',
        'signed-integer',
        '-L',
        '-',
        'norm',
        '-3',
      ],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    const timer = setTimeout(() => {
      espeak.kill('SIGKILL');
      sox.kill('SIGKILL');
      reject(new Error(`speech took longer than ${timeoutMs} ms`));
    }, timeoutMs);
    espeak.stdout.pipe(sox.stdin);
    sox.stdin.on('error', () => {});
    espeak.on('error', (err) => {
      clearTimeout(timer);
      sox.kill('SIGKILL');
      reject(err);
    });
    sox.on('error', (err) => {
      clearTimeout(timer);
      espeak.kill('SIGKILL');
      reject(err);
    });
    const out: Buffer[] = [];
    sox.stdout.on('data', (d: Buffer) => out.push(d));
    sox.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`sox exited with ${code}`));
      const bytes = Buffer.concat(out);
      const samples = new Int16Array(bytes.length >> 1);
      for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2);
      resolve(samples);
    });
  });
}

/**
 * Text to 8 kHz speech at run time with espeak-ng and sox, least recently used results kept.
 * Without them (or when they fail) a digit string is read with the digit prompts and anything
 * else becomes a short tone: a call never fails for want of speech.
 */
export class EspeakSpeech implements Speech {
  readonly #o: Required<Omit<EspeakSpeechOptions, 'available' | 'log'>> & {
    log: EspeakSpeechOptions['log'];
  };
  #available: boolean | undefined;
  #warned = false;
  readonly #cache = new Map<string, Int16Array>();
  /** Syntheses running, and those waiting for a turn. */
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(opts: EspeakSpeechOptions) {
    this.#o = {
      prompts: opts.prompts,
      log: opts.log,
      timeoutMs: opts.timeoutMs ?? 5000,
      cacheSize: opts.cacheSize ?? 200,
      maxChars: opts.maxChars ?? 500,
      concurrency: Math.max(1, opts.concurrency ?? availableParallelism()),
    };
    this.#available = opts.available;
  }

  async say(text: string, language: string, opts: { strict?: boolean } = {}): Promise<Int16Array> {
    const lang = normalizeLanguage(language) ?? 'en';
    const clean = text
      .replace(/[\u0000-\u001f\u007f]/g, ' ')
      .trim()
      .slice(0, this.#o.maxChars);
    const key = `${lang}\u0000${clean}`;
    const hit = this.#cache.get(key);
    if (hit) {
      // Map order is insertion order: re-inserting marks it most recently used.
      this.#cache.delete(key);
      this.#cache.set(key, hit);
      return hit;
    }
    if (clean === '') return new Int16Array(0);
    let samples: Int16Array;
    if (this.#isAvailable()) {
      try {
        // Text that must be heard as words waits longer: there is no tone to put in its place.
        const limit = (this.#o.timeoutMs + clean.length * PER_CHAR_MS) * (opts.strict ? 3 : 1);
        samples = await this.#inTurn(() => run(clean, espeakVoice(lang), limit));
      } catch (err) {
        if (opts.strict) throw err;
        this.#o.log?.warn({ err: (err as Error).message }, 'speech failed: using a fallback');
        return this.#fallback(clean, lang);
      }
    } else {
      if (opts.strict) throw new Error('espeak-ng or sox is not installed');
      return this.#fallback(clean, lang);
    }
    this.#cache.set(key, samples);
    if (this.#cache.size > this.#o.cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
    return samples;
  }

  /**
   * Runs one synthesis when a turn is free. Started all at once (an e-mail's header and its
   * first part), they would share the cores and each take as long as all of them, the time
   * limit running out on a busy machine; in turn, the first needed is ready first, and the
   * limit measures the work itself, not the wait.
   */
  async #inTurn<T>(work: () => Promise<T>): Promise<T> {
    // A finished synthesis hands its turn straight to the next waiting one.
    if (this.#running >= this.#o.concurrency)
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#running++;
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }

  #isAvailable(): boolean {
    if (this.#available === undefined) {
      this.#available = hasCommand('espeak-ng') && hasCommand('sox');
      if (!this.#available && !this.#warned) {
        this.#warned = true;
        this.#o.log?.warn(
          {},
          'espeak-ng or sox is not installed: speech is read as digits or a tone',
        );
      }
    }
    return this.#available;
  }

  /** Digits read one by one from the prompts, else a tone. */
  #fallback(text: string, lang: string): Int16Array {
    const compact = text.replace(/[\s.-]/g, '');
    if (/^\+?[0-9*#]+$/.test(compact)) {
      const parts = [...compact.replace('+', '')].map(
        (c) => (KEY_PROMPTS as Record<string, string>)[c]!,
      );
      if (parts.every((p) => this.#o.prompts.has(p, lang))) {
        const chunks = parts.map((p) => this.#o.prompts.get(p, lang));
        const out = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
        let at = 0;
        for (const c of chunks) {
          out.set(c, at);
          at += c.length;
        }
        return out;
      }
    }
    return beep();
  }
}
