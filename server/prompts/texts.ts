import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { VoicegateError } from '../domain/errors.ts';

/** What a prompt is made of: text spoken by espeak-ng, or a beep made by sox. */
export type PromptText = string | { tone: number; ms: number };

/** Where the shipped prompt texts and the built WAV files live. */
export const PROMPT_TEXT_DIR = fileURLToPath(new URL('./text', import.meta.url));
export const PROMPT_WAV_DIR = fileURLToPath(new URL('./wav', import.meta.url));

const NAME = /^[a-z0-9][a-z0-9-]*$/;
const LANGUAGE = /^[a-z]{2,3}(-[A-Z]{2})?$/;

function parseEntry(file: string, name: string, value: unknown): PromptText {
  if (!NAME.test(name))
    throw new VoicegateError(
      'INVALID_INPUT',
      `${file}: "${name}" is not a prompt name (a-z, 0-9, -)`,
    );
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  const tone = value as { tone?: unknown; ms?: unknown } | null;
  if (
    tone &&
    typeof tone === 'object' &&
    typeof tone.tone === 'number' &&
    typeof tone.ms === 'number' &&
    tone.tone > 0 &&
    tone.tone < 4000 &&
    tone.ms > 0 &&
    tone.ms <= 10_000
  )
    return { tone: tone.tone, ms: tone.ms };
  throw new VoicegateError(
    'INVALID_INPUT',
    `${file}: prompt "${name}" must be text or { tone: Hz below 4000, ms: up to 10000 }`,
  );
}

/** Every prompt text, by language folder then name (`text/<lang>/*.yaml`, `name: text`). */
export function loadPromptTexts(dir = PROMPT_TEXT_DIR): Map<string, Map<string, PromptText>> {
  const out = new Map<string, Map<string, PromptText>>();
  if (!existsSync(dir)) return out;
  for (const lang of readdirSync(dir).sort()) {
    if (!LANGUAGE.test(lang)) continue;
    const prompts = new Map<string, PromptText>();
    for (const file of readdirSync(join(dir, lang)).sort()) {
      if (!file.endsWith('.yaml')) continue;
      const path = join(dir, lang, file);
      const doc: unknown = YAML.parse(readFileSync(path, 'utf8'));
      if (doc === null || doc === undefined) continue;
      if (typeof doc !== 'object' || Array.isArray(doc))
        throw new VoicegateError('INVALID_INPUT', `${path}: expected a mapping of name: text`);
      for (const [name, value] of Object.entries(doc)) {
        if (prompts.has(name))
          throw new VoicegateError('INVALID_INPUT', `${path}: prompt "${name}" is defined twice`);
        prompts.set(name, parseEntry(path, name, value));
      }
    }
    out.set(lang, prompts);
  }
  return out;
}

/** The names any language defines: what flows may name in `play` and `menu`. */
export function promptNames(dir = PROMPT_TEXT_DIR): Set<string> {
  const names = new Set<string>();
  for (const prompts of loadPromptTexts(dir).values()) for (const n of prompts.keys()) names.add(n);
  return names;
}
