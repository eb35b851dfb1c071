/** espeak-ng voices for the languages we ship or are asked for; others use their base language. */
const VOICES: Record<string, string> = {
  en: 'en-us',
  'en-US': 'en-us',
  'en-GB': 'en-gb',
  fr: 'fr-fr',
  'fr-FR': 'fr-fr',
  'fr-BE': 'fr-be',
  'fr-CH': 'fr-ch',
  'fr-CA': 'fr-fr',
  es: 'es',
  'es-ES': 'es',
  'es-MX': 'es-419',
};

export function espeakVoice(language: string): string {
  return (
    VOICES[language] ?? VOICES[language.split('-')[0]!] ?? language.split('-')[0]!.toLowerCase()
  );
}

/** `fr-ca`, `fr_CA`, `fr-CA,fr;q=0.8` -> `fr-CA`; null for something that is not a language tag. */
export function normalizeLanguage(raw: string | null | undefined): string | null {
  if (!raw) return null;
  const first = raw.split(',')[0]!.split(';')[0]!.trim().replace('_', '-');
  const m = /^([A-Za-z]{2,3})(?:-([A-Za-z]{2}))?$/.exec(first);
  if (!m) return null;
  return m[2] ? `${m[1]!.toLowerCase()}-${m[2].toUpperCase()}` : m[1]!.toLowerCase();
}
