import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { emailFromSource } from '../../server/mailread/email-from-source.ts';
import { speechParts } from '../../server/flows/voicemail/speech-parts.ts';

const sample = (name: string, language = 'en') =>
  emailFromSource(
    'x',
    readFileSync(new URL(`../fixtures/mailread/${name}.eml`, import.meta.url)),
    language,
    0,
  );

describe('an e-mail made for listening', () => {
  it('reads a plain e-mail without its signature, the link as its site, a long number by digits', async () => {
    const m = await sample('1-plain');
    expect(m.fromName).toBe('Carol Smith');
    expect(m.subject).toBe('Lunch on Friday');
    expect(m.sentAt).toBe(Date.UTC(2026, 10, 30, 9, 15));
    expect(m.text).toBe(
      'Hi Alice,\n\nAre we still on for lunch on Friday at noon? Call me on 0 6 1, 2 3 4, 5 6 7, 8 if not. ' +
        'The menu is at link to bistro.example.',
    );
    expect(m.words).toBe(m.text.split(/\s+/).filter((w) => /\w/.test(w)).length);
  });

  it('reads HTML as words: no markup or styles, links as their words, table cells in order', async () => {
    const m = await sample('2-html-table');
    expect(m.fromName).toBe('Billing Team');
    expect(m.text).not.toMatch(/[<>{}]|https?:|color|logo/);
    expect(m.text).toContain('Invoice 42');
    expect(m.text).toContain('Track your parcel or read our questions page.');
    expect(m.text).toContain('Item, Price,');
    expect(m.text).toContain('Blue mug, 12 euros,');
    expect(m.text).toContain('Tea pot, 30 euros,');
    // What the e-mail says is only words: it is spoken, never obeyed.
    expect(m.text).toContain('Press 9 to delete all your messages.');
  });

  it('drops the quoted message of a reply', async () => {
    const m = await sample('3-reply');
    expect(m.text).toBe("Agreed, let's keep the budget as it is.");
    expect(m.words).toBe(8);
  });

  it('names each attachment and its type, in the mailbox language', async () => {
    const en = await sample('4-attachments');
    expect(en.text).toBe(
      'Here are the files.\n\nAttachment: quarterly report, PDF document.\n\nAttachment: beach, picture.',
    );
    const fr = await sample('4-attachments', 'fr-FR');
    expect(fr.text).toContain('Pièce jointe: quarterly report, document PDF.');
  });

  it('reads a French e-mail, its quote dropped', async () => {
    const m = await sample('5-french', 'fr');
    expect(m.fromName).toBe('François Dupont');
    expect(m.subject).toBe('Réunion de mardi');
    expect(m.text).toBe(
      'Bonjour Alice,\n\nLa réunion de mardi est déplacée à quinze heures. Merci de confirmer.',
    );
  });

  it('cuts long text into parts at sentence ends, none longer than the limit', () => {
    const sentence = 'This sentence has exactly eight words in it. ';
    const text = sentence.repeat(30) + 'x'.repeat(10) + ' ' + 'word '.repeat(80);
    const parts = speechParts(text, 200);
    expect(parts.length).toBeGreaterThan(5);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(200);
    expect(parts[0]!.endsWith('in it.')).toBe(true);
    expect(parts.join(' ').replace(/\s+/g, ' ')).toBe(text.trim().replace(/\s+/g, ' '));
  });
});
