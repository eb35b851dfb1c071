import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fallbackChain, PromptCatalog } from '../../server/prompts/catalog.ts';
import { EspeakSpeech } from '../../server/prompts/speech.ts';
import { loadPromptTexts } from '../../server/prompts/texts.ts';
import { encodeWav, fromPcm16 } from '../../server/media/wav.ts';
import { hasCommand } from '../../server/tools.ts';

const dir = mkdtempSync(join(tmpdir(), 'voicegate-catalog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A prompt file whose length (in samples) says which folder it came from. */
function put(lang: string, name: string, samples: number): void {
  mkdirSync(join(dir, lang), { recursive: true });
  const wav = encodeWav({
    encoding: 'pcm16',
    sampleRate: 8000,
    channels: 1,
    data: fromPcm16(new Int16Array(samples), 'pcm16'),
  });
  writeFileSync(join(dir, lang, `${name}.wav`), wav);
}
put('en', 'hello', 10);
put('en', 'only-en', 11);
put('fr', 'hello', 20);
put('fr-CA', 'hello', 30);
put('es', 'hello', 40);
for (const [d, n] of [
  ['zero', 1],
  ['one', 2],
  ['star', 3],
] as const)
  put('en', d, n);

describe('fallback chains', () => {
  it('lang-REGION > lang > en-US > en', () => {
    expect(fallbackChain('en-US')).toEqual(['en-US', 'en']);
    expect(fallbackChain('fr-CA')).toEqual(['fr-CA', 'fr', 'en-US', 'en']);
    expect(fallbackChain('fr-ca,fr;q=0.5')).toEqual(['fr-CA', 'fr', 'en-US', 'en']);
    expect(fallbackChain(null)).toEqual(['en', 'en-US']);
  });

  it('skips missing folders: with no en-US folder, es-MX is es-MX > es > en', () => {
    const log: string[] = [];
    const c = new PromptCatalog({
      wavDir: dir,
      knownNames: new Set(['unbuilt']),
      log: { warn: (_o, m) => log.push(m) },
    });
    expect(c.languages).toEqual(['en', 'es', 'fr', 'fr-CA']);
    expect(c.get('hello', 'fr-CA')).toHaveLength(30);
    expect(c.get('hello', 'fr-BE')).toHaveLength(20);
    expect(c.get('hello', 'es-MX')).toHaveLength(40);
    expect(c.get('only-en', 'es-MX')).toHaveLength(11);
    expect(c.get('hello', 'en-US')).toHaveLength(10);
    expect(c.get('hello', 'de')).toHaveLength(10);
    expect(c.get('hello', 'fr')).toBe(c.get('hello', 'fr'));
    expect(() => c.get('nothing', 'en')).toThrow(/no prompt "nothing"/);
    // Known but not built (no espeak-ng here): a tone, logged once.
    expect(c.has('unbuilt', 'en')).toBe(true);
    expect(c.get('unbuilt', 'en').length).toBeGreaterThan(1000);
    c.get('unbuilt', 'fr');
    expect(log).toHaveLength(1);
  });

  it('the shipped texts are complete in en, fr and es', () => {
    const texts = loadPromptTexts();
    const en = [...texts.get('en')!.keys()].sort();
    expect(en).toEqual(
      expect.arrayContaining([
        'zero',
        'nine',
        'star',
        'pound',
        'goodbye',
        'please-try-again',
        'invalid-entry',
        'tone',
      ]),
    );
    for (const lang of ['fr', 'es']) expect([...texts.get(lang)!.keys()].sort()).toEqual(en);
  });
});

describe('EspeakSpeech', () => {
  const prompts = new PromptCatalog({ wavDir: dir });
  it('without espeak-ng reads digits with the digit prompts and anything else as a tone', async () => {
    const s = new EspeakSpeech({ prompts, available: false });
    expect(await s.say('10*', 'en')).toEqual(new Int16Array(2 + 1 + 3));
    expect((await s.say('hello', 'en')).length).toBeGreaterThan(1000);
  });

  it('strict (an e-mail text): no tone in place of the words, an error instead', async () => {
    const s = new EspeakSpeech({ prompts, available: false });
    await expect(s.say('Agreed, let us keep the budget.', 'en', { strict: true })).rejects.toThrow(
      /not installed/,
    );
  });

  it.skipIf(!hasCommand('espeak-ng') || !hasCommand('sox'))(
    'speaks at 8 kHz and caches; shell characters are just text',
    async () => {
      const s = new EspeakSpeech({ prompts, cacheSize: 1 });
      const a = await s.say('Hello $(touch /tmp/x) `id`', 'en');
      expect(a.length).toBeGreaterThan(4000);
      expect(await s.say('Hello $(touch /tmp/x) `id`', 'en')).toBe(a);
      await s.say('Bonjour', 'fr-CA');
      expect(await s.say('Hello $(touch /tmp/x) `id`', 'en')).not.toBe(a);
    },
  );
});
