/** Every language of the interface has every text, with the same placeholders and plural forms. */
import { describe, expect, it } from 'vitest';
import { en, type Catalogue, type Entry } from '../../web/src/lib/i18n/en.ts';
import { es } from '../../web/src/lib/i18n/es.ts';
import { fr } from '../../web/src/lib/i18n/fr.ts';

const OTHERS: Record<string, Catalogue> = { fr, es };

function forms(entry: Entry): string[] {
  return typeof entry === 'string' ? [entry] : Object.values(entry);
}
function placeholders(entry: Entry): string[] {
  return [...new Set(forms(entry).flatMap((text) => text.match(/\{\w+\}/g) ?? []))].sort();
}

describe('the interface catalogues', () => {
  for (const [language, catalogue] of Object.entries(OTHERS)) {
    it(`${language} has exactly the keys of en`, () => {
      expect(Object.keys(catalogue).sort()).toEqual(Object.keys(en).sort());
    });

    it(`${language} uses the placeholders of en and the plural forms its language needs`, () => {
      const categories = new Intl.PluralRules(language).resolvedOptions().pluralCategories;
      for (const [key, entry] of Object.entries(catalogue)) {
        const english = en[key]!;
        // A plural form may leave the count out ("the message"), never add one en lacks.
        for (const p of placeholders(entry)) expect(placeholders(english), key).toContain(p);
        expect(typeof entry, key).toBe(typeof english);
        if (typeof entry !== 'string')
          for (const category of categories)
            if (category === 'other' || category === 'one')
              expect(entry[category], `${key} ${category}`).toBeTypeOf('string');
      }
    });
  }

  it('en has every plural category English needs', () => {
    for (const [key, entry] of Object.entries(en))
      if (typeof entry !== 'string')
        expect(Object.keys(entry).sort(), key).toEqual(['one', 'other']);
  });
});
