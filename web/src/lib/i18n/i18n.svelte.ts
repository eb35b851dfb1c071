/**
 * The interface's words: one catalogue per language (en, fr, es: the phone prompts' languages),
 * the same keys in each (a test fails when one misses a key). `{name}` is replaced by a
 * parameter; a key with plural forms picks one with Intl.PluralRules on `count`.
 *
 * English is built in (and the fallback); French and Spanish are fetched when first chosen, so
 * that nobody downloads the words of languages they do not read before the first page shows.
 */
import { en, type Catalogue } from './en.ts';

export const LANGUAGES = ['en', 'fr', 'es'] as const;
export type Language = (typeof LANGUAGES)[number];

const LOADERS: Record<Exclude<Language, 'en'>, () => Promise<Catalogue>> = {
  fr: () => import('./fr.ts').then((m) => m.fr),
  es: () => import('./es.ts').then((m) => m.es),
};
const loaded = new Map<Language, Promise<Catalogue>>([['en', Promise.resolve(en)]]);

function catalogue(language: Language): Promise<Catalogue> {
  let pending = loaded.get(language);
  if (!pending) {
    pending = LOADERS[language as Exclude<Language, 'en'>]().catch((error: unknown) => {
      loaded.delete(language); // a failed fetch may be tried again
      throw error;
    });
    loaded.set(language, pending);
  }
  return pending;
}

/** The language of a locale (`fr-CA`, `es_ES`), if the interface speaks it. */
export function languageOf(locale: string | null | undefined): Language | null {
  const code = (locale ?? '').slice(0, 2).toLowerCase();
  return (LANGUAGES as readonly string[]).includes(code) ? (code as Language) : null;
}

class I18n {
  #language = $state<Language>('en');
  #words = $state.raw<Catalogue>(en);

  get language(): Language {
    return this.#language;
  }

  /** The words in use (English until another language's have arrived). */
  get words(): Catalogue {
    return this.#words;
  }

  /** Switches to `value` once its words are here; resolves then (English if they cannot come). */
  async use(value: Language): Promise<void> {
    this.#language = value;
    // Setting it, even unchanged, restyles the whole page.
    if (document.documentElement.lang !== value) document.documentElement.lang = value;
    let words = en;
    try {
      words = await catalogue(value);
    } catch (error) {
      console.error('i18n', error);
    }
    if (this.#language === value) this.#words = words;
  }
}

export const i18n = new I18n();

type Params = Record<string, string | number>;

export function t(key: string, params: Params = {}): string {
  const language = i18n.language;
  const entry = i18n.words[key] ?? en[key] ?? key;
  const text =
    typeof entry === 'string'
      ? entry
      : (entry[plurals(language).select(Number(params.count ?? 0))] ?? entry.other);
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? formatParam(params[name]!, language) : whole,
  );
}

/** Made once per language: making one costs far more than using it, and rows call t() as they come on screen. */
const pluralRules = new Map<Language, Intl.PluralRules>();
const numberFormats = new Map<Language, Intl.NumberFormat>();

function plurals(language: Language): Intl.PluralRules {
  let rules = pluralRules.get(language);
  if (!rules) pluralRules.set(language, (rules = new Intl.PluralRules(language)));
  return rules;
}

function formatParam(value: string | number, language: Language): string {
  if (typeof value !== 'number') return value;
  let format = numberFormats.get(language);
  if (!format) numberFormats.set(language, (format = new Intl.NumberFormat(language)));
  return format.format(value);
}
