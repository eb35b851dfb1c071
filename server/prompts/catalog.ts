import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { VoicegateError } from '../domain/errors.ts';
import { parseWav, toPcm16 } from '../media/wav.ts';
import type { PromptLog, PromptSource } from './ports.ts';
import { beep } from './beep.ts';
import { normalizeLanguage } from './voices.ts';
import { PROMPT_WAV_DIR } from './texts.ts';

/**
 * Languages to try for `language`, best first: lang-REGION > lang > en-US > en. Folders that
 * do not exist are skipped by the catalog, so with the shipped folders es-MX is es > en.
 */
export function fallbackChain(language: string | null | undefined): string[] {
  const lang = normalizeLanguage(language) ?? 'en';
  const chain = [lang];
  if (lang.includes('-')) chain.push(lang.split('-')[0]!);
  chain.push('en-US', 'en');
  return [...new Set(chain)];
}

export interface PromptCatalogOptions {
  /** Folder of `<lang>/<name>.wav`, 8 kHz mono 16-bit (scripts/build-prompts.ts). */
  wavDir?: string;
  /**
   * Names that exist as text but may not be built (no espeak-ng or sox on this machine): these
   * play a short tone instead, logged once, rather than failing the call.
   */
  knownNames?: ReadonlySet<string>;
  log?: PromptLog;
}

/** Built prompts by language with fallback chains; each file is read once and kept. */
export class PromptCatalog implements PromptSource {
  readonly #dir: string;
  readonly #known: ReadonlySet<string>;
  readonly #log: PromptLog | undefined;
  readonly #languages: Set<string>;
  readonly #samples = new Map<string, Int16Array>();
  readonly #warned = new Set<string>();

  constructor(opts: PromptCatalogOptions = {}) {
    this.#dir = opts.wavDir ?? PROMPT_WAV_DIR;
    this.#known = opts.knownNames ?? new Set();
    this.#log = opts.log;
    this.#languages = new Set(
      existsSync(this.#dir)
        ? readdirSync(this.#dir).filter((d) => statSync(join(this.#dir, d)).isDirectory())
        : [],
    );
  }

  /** The language folders present, for `voicegate flows check` and tests. */
  get languages(): string[] {
    return [...this.#languages].sort();
  }

  /** The file `name` would be played from for `language`, or null. */
  resolve(name: string, language: string): string | null {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) return null;
    for (const lang of fallbackChain(language)) {
      if (!this.#languages.has(lang)) continue;
      const file = join(this.#dir, lang, `${name}.wav`);
      if (existsSync(file)) return file;
    }
    return null;
  }

  has(name: string, language: string): boolean {
    return this.resolve(name, language) !== null || this.#known.has(name);
  }

  get(name: string, language: string): Int16Array {
    const file = this.resolve(name, language);
    if (!file) {
      if (!this.#known.has(name))
        throw new VoicegateError('NOT_FOUND', `no prompt "${name}" in any language`);
      if (!this.#warned.has(name)) {
        this.#warned.add(name);
        this.#log?.warn(
          { prompt: name },
          'prompt not built (npm run build needs espeak-ng and sox): playing a tone instead',
        );
      }
      return beep();
    }
    let samples = this.#samples.get(file);
    if (!samples) {
      const wav = parseWav(readFileSync(file));
      if (wav.sampleRate !== 8000 || wav.channels !== 1)
        throw new VoicegateError('BAD_AUDIO', `${file} is not 8 kHz mono: run npm run build`);
      samples = toPcm16(wav);
      this.#samples.set(file, samples);
    }
    return samples;
  }
}
