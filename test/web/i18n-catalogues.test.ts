/** Every language of the interface has every text, with the same placeholders and plural forms. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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

  it('en has every text the app asks for, literal or built from a known list', () => {
    const root = join(import.meta.dirname, '../../web/src');
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.(svelte|ts)$/.test(f) && !f.includes('i18n'))
      .map((f) => readFileSync(join(root, f), 'utf8'));
    const source = files.join('\n');
    const literal = [...source.matchAll(/\bt\(\s*'([\w.]+)'/g)].map((m) => m[1]!);
    expect(literal.length).toBeGreaterThan(150);
    for (const key of literal) expect(en, key).toHaveProperty([key]);
    // Keys built from a value: each prefix must have the values the app can pass.
    const built: Record<string, readonly string[]> = {
      'state.': ['new', 'unopened', 'old', 'saved', 'deleted'],
      'list.empty.': ['inbox', 'deleted'],
      'list.label.': ['inbox', 'deleted'],
      'folder.': ['inbox', 'deleted'],
      'greeting.kind.': ['unavailable', 'busy', 'temporary', 'name'],
      'greeting.the.': ['unavailable', 'busy', 'temporary', 'name'],
      'email.mode.': [
        'off',
        'copy',
        'forward',
        'alert',
        'offHelp',
        'copyHelp',
        'forwardHelp',
        'alertHelp',
      ],
      'shortcuts.': [
        'togglePlay',
        'rewind',
        'fastForward',
        'next',
        'previous',
        'markUnread',
        'toggleSave',
        'delete',
        'help',
        'key.Space',
        'key.Delete',
      ],
      'phone.': ['no-number', 'not-allowed', 'no-phone', 'no-telephony'],
      'list.order.': ['newest', 'oldest', 'priority'],
      'list.state.': ['new', 'played', 'saved'],
      'shortcuts.key.': ['Space', 'Delete'],
      'bulk.action.': ['play', 'markUnread', 'save', 'unsave', 'delete', 'undelete', 'forward'],
    };
    for (const prefix of [...source.matchAll(/\bt\(\s*`([\w.]+)\$\{/g)].map((m) => m[1]!))
      expect(Object.keys(built), prefix).toContain(prefix);
    for (const [prefix, values] of Object.entries(built))
      for (const value of values) expect(en, prefix + value).toHaveProperty([prefix + value]);
  });
});
