// SettingsTransfer on a real embedded store: an import that fails half way leaves the store as
// it was.
import { afterEach, describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { tempData, type TempData } from '../helpers/temp-data.ts';

let data: TempData[] = [];
afterEach(() => {
  for (const d of data) d.remove();
  data = [];
});

describe('settings import', () => {
  it('undoes every step done when a later one fails: mailboxes, settings and greetings as before', async () => {
    const source = tempData();
    const target = tempData();
    data.push(source, target);
    const files = new Map<string, Uint8Array>();
    const exported = await (async () => {
      const ctx = await source.open();
      try {
        await ctx.mailboxes.add(
          { name: 'alice', extension: '201', timeZone: 'Asia/Tokyo' },
          '1234',
        );
        await ctx.mailboxes.add({ name: 'bob', extension: '202' }, '1234');
        await ctx.messages.setGreeting(
          'alice',
          'unavailable',
          toneWav({ seconds: 1, frequency: 500 }),
        );
        await ctx.messages.setGreeting('bob', 'name', toneWav({ seconds: 1, frequency: 700 }));
        return await ctx.settings.exportSettings(
          { withSecrets: true },
          { put: async (n, b) => void files.set(n, b) },
        );
      } finally {
        await ctx.close();
      }
    })();

    const ctx = await target.open();
    try {
      await ctx.mailboxes.add(
        { name: 'alice', extension: '201', timeZone: 'Europe/Paris' },
        '9999',
      );
      const kept = toneWav({ seconds: 1, frequency: 300 });
      await ctx.messages.setGreeting('alice', 'unavailable', kept);
      const state = async () => ({
        mailboxes: (await ctx.mailboxes.list()).map((m) => [m.name, m.timeZone]),
        greeting: await ctx.audio.read(
          (await ctx.store.listGreetings((await ctx.store.findMailbox('alice'))!.id))[0]!.audio.key,
        ),
      });
      const before = await state();
      const plan = await ctx.settings.planImport(exported, { get: async (n) => files.get(n)! });
      expect(plan.map((c) => `${c.action} ${c.what}`)).toContain('add mailbox "bob"');
      // The last greeting's audio cannot be read any more when it is applied.
      let reads = 0;
      const failing = {
        get: async (n: string) => {
          if (++reads === 2) throw new Error('disk went away');
          return files.get(n)!;
        },
      };
      await expect(ctx.settings.applyImport(exported, failing)).rejects.toThrow('disk went away');
      const after = await state();
      expect(after.mailboxes).toEqual(before.mailboxes);
      expect(after.greeting.equals(Buffer.from(kept))).toBe(true);
      expect(await ctx.store.findMailbox('bob')).toBeNull();
      // Alice's code is still hers.
      await expect(
        ctx.mailboxes.authenticate('alice', '9999', { channel: 'web', remote: '127.0.0.1' }),
      ).resolves.toMatchObject({ name: 'alice' });
    } finally {
      await ctx.close();
    }
  }, 30_000);
});
