/**
 * The interface's words: one catalogue per language (en, fr, es: the phone prompts' languages),
 * the same keys in each (a test fails when one misses a key). `{name}` is replaced by a
 * parameter; a key with plural forms picks one with Intl.PluralRules on `count`.
 */
import { en, type Catalogue } from './en.ts';
import { es } from './es.ts';
import { fr } from './fr.ts';

export const CATALOGUES = { en, fr, es } as const satisfies Record<string, Catalogue>;
export type Language = keyof typeof CATALOGUES;
export const LANGUAGES = Object.keys(CATALOGUES) as Language[];

/** The language of a locale (`fr-CA`, `es_ES`), if the interface speaks it. */
export function languageOf(locale: string | null | undefined): Language | null {
  const code = (locale ?? '').slice(0, 2).toLowerCase();
  return (LANGUAGES as string[]).includes(code) ? (code as Language) : null;
}

class I18n {
  #language = $state<Language>(languageOf(navigator.language) ?? 'en');

  get language(): Language {
    return this.#language;
  }

  set language(value: Language) {
    this.#language = value;
    document.documentElement.lang = value;
  }
}

export const i18n = new I18n();

type Params = Record<string, string | number>;

export function t(key: string, params: Params = {}): string {
  const language = i18n.language;
  const entry = CATALOGUES[language][key] ?? en[key] ?? key;
  const text =
    typeof entry === 'string'
      ? entry
      : (entry[new Intl.PluralRules(language).select(Number(params.count ?? 0))] ?? entry.other);
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? formatParam(params[name]!, language) : whole,
  );
}

function formatParam(value: string | number, language: Language): string {
  return typeof value === 'number' ? new Intl.NumberFormat(language).format(value) : value;
}
