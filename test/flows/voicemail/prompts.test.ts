import { describe, expect, it } from 'vitest';
import { loadPromptTexts } from '../../../server/prompts/texts.ts';
import {
  COMMON_PROMPTS,
  EMAIL_PROMPTS,
  VOICEMAIL_PROMPTS,
} from '../../../server/flows/voicemail/prompt-names.ts';

describe('voicemail prompt texts', () => {
  const texts = loadPromptTexts();

  for (const lang of ['en', 'fr', 'es']) {
    it(`${lang} has every prompt the flows play`, () => {
      const names = texts.get(lang)!;
      const missing = [...VOICEMAIL_PROMPTS, ...COMMON_PROMPTS, ...EMAIL_PROMPTS].filter(
        (n) => !names.has(n),
      );
      expect(missing).toEqual([]);
    });
  }
});
