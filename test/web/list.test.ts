/**
 * The message list of a real mailbox: newest first (the order chosen remembered by the server), a search in
 * the URL, a virtual list (only the rows on screen in the page) loading pages as it scrolls, a live change touching one row, bulk selection and
 * actions, "Empty deleted". At desktop and phone sizes.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { Message, NewMessage } from '../../server/domain/message.ts';
import { toneWav } from '../../server/media/tone.ts';
import {
  DESKTOP,
  PHONE,
  deposit,
  folderLink,
  logIn,
  messageLink,
  newMailbox,
  storedState,
  useBrowser,
} from './web-kit.ts';

const suite = useBrowser();
const DAY = 86_400_000;

/** The callers listed, top to bottom. */
async function callers(page: Page): Promise<string[]> {
  const links = page.getByRole('list', { name: /Messages$/ }).getByRole('link');
  return (await links.allTextContents()).map((text) =>
    text
      .trim()
      .split(/\s{2,}|\n/)[0]!
      .trim(),
  );
}

/** Scrolls to the page's end as a user would, until `reached` says so. */
async function scrollUntil(page: Page, reached: () => Promise<boolean>) {
  await expect
    .poll(
      async () => {
        await page.evaluate('window.scrollTo(0, document.body.scrollHeight)');
        return reached();
      },
      { timeout: 25_000, interval: 50 },
    )
    .toBe(true);
}

async function seed(box: string, names: string[], start = Date.now() - names.length * DAY) {
  const made: Message[] = [];
  for (const [i, name] of names.entries())
    made.push(
      await deposit(suite.server, box, {
        callerName: name,
        callerNumber: `55501${String(i).padStart(2, '0')}`,
        seconds: 1,
        receivedAt: start + i * DAY,
        priority: name.startsWith('Urgent') ? 'high' : 'normal',
      }),
    );
  return made;
}

for (const [size, viewport] of [
  ['desktop', DESKTOP],
  ['phone', PHONE],
] as const) {
  describe(`the list on a ${size}`, () => {
    it('lists newest first, and remembers another order chosen', async () => {
      const box = await newMailbox(suite.server, `Order ${size}`);
      await seed(box.name, ['Ann First', 'Urgent Bea', 'Cy Last']);
      const page = await suite.open({ viewport });
      await logIn(page, box.extension);
      await messageLink(page, /Cy Last/).waitFor();
      expect((await callers(page))[0]).toMatch(/^Cy Last/);
      expect(await callers(page)).toEqual([
        expect.stringMatching(/^Cy Last/),
        expect.stringMatching(/^Urgent Bea/),
        expect.stringMatching(/^Ann First/),
      ]);
      // Yesterday's message says so, in the mailbox's zone.
      expect(await messageLink(page, /Cy Last/).textContent()).toMatch(/Yesterday \d\d:\d\d/);

      await page.getByLabel('Order').selectOption('oldest');
      await expect
        .poll(() => callers(page))
        .toEqual([
          expect.stringMatching(/^Ann First/),
          expect.stringMatching(/^Urgent Bea/),
          expect.stringMatching(/^Cy Last/),
        ]);
      expect(page.url()).toContain('order=oldest');
      // Another browser (nothing stored in common), without the order in the address, keeps
      // the order chosen: the server remembers it for the user.
      const other = await suite.open({ viewport });
      await logIn(other, box.extension);
      await messageLink(other, /Ann First/).waitFor();
      expect((await callers(other))[0]).toMatch(/^Ann First/);
      expect(other.url()).not.toContain('order=');
      await other.getByLabel('Order').selectOption('priority');
      await expect.poll(async () => (await callers(other))[0]).toMatch(/^Urgent Bea/);
      await page.goto('/#/inbox');
      await page.reload();
      await expect.poll(async () => (await callers(page))[0]).toMatch(/^Urgent Bea/);
    }, 60_000); // two browsers log in

    it('searches by caller and state, in an address that can be shared', async () => {
      const box = await newMailbox(suite.server, `Search ${size}`);
      const [ann] = await seed(box.name, ['Ann Smith', 'Bob Jones', 'Ann Other']);
      await suite.server.context.messages.act(box.id, ann!.id, 'play');
      const page = await suite.open({ viewport });
      await logIn(page, box.extension);
      await page.getByRole('searchbox', { name: 'Search callers' }).fill('ann');
      await expect.poll(() => callers(page)).toHaveLength(2);
      expect(page.url()).toMatch(/#\/inbox\?q=ann/);
      // A search opens the filters; a click would close them.
      const filters = page.locator('details', { hasText: 'Filters' });
      if ((await filters.getAttribute('open')) === null) await page.getByText('Filters').click();
      await page.getByLabel('State').selectOption('played');
      await expect.poll(() => callers(page)).toEqual([expect.stringMatching(/^Ann Smith/)]);
      await page.getByText('1 message matches').waitFor();

      // The address, opened in another browser session, shows the same search.
      const shared = page.url().replace(/^.*#/, '#');
      const other = await suite.open({ viewport });
      await logIn(other, box.extension);
      await other.goto(`/${shared}`);
      await expect.poll(() => callers(other)).toEqual([expect.stringMatching(/^Ann Smith/)]);
      expect(await other.getByRole('searchbox', { name: 'Search callers' }).inputValue()).toBe(
        'ann',
      );
    });
  });
}

describe('a long list', () => {
  it('renders only the rows on screen, and fetches the next page as the list scrolls', async () => {
    const box = await newMailbox(suite.server, 'Long List');
    await seed(
      box.name,
      Array.from({ length: 120 }, (_, i) => `Caller ${String(i).padStart(3, '0')}`),
    );
    const page = await suite.open({ viewport: PHONE });
    const pages: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/messages?')) pages.push(r.url());
    });
    await logIn(page, box.extension);
    const rows = page.getByRole('list', { name: 'Messages' }).getByRole('listitem');
    await messageLink(page, /Caller 119/).waitFor();
    expect((await callers(page))[0]).toMatch(/^Caller 119/);
    // One page of 50 fetched, but only what a phone's screen shows (and eight more each side)
    // rendered; each row says where it stands in the whole list.
    expect(pages).toHaveLength(1);
    expect(await rows.count()).toBeLessThan(35);
    expect(await rows.first().getAttribute('aria-posinset')).toBe('1');
    expect(await rows.first().getAttribute('aria-setsize')).toBe('120');
    // To the end: the next pages come as it nears, and the oldest message is shown.
    await scrollUntil(page, async () => (await messageLink(page, /Caller 000/).count()) === 1);
    expect(pages).toHaveLength(3);
    expect(await rows.count()).toBeLessThan(35);
    expect(await rows.last().getAttribute('aria-posinset')).toBe('120');
    await expect(page.getByRole('button', { name: 'Show more messages' }).count()).resolves.toBe(0);
    // And back to the top, the newest again.
    await page.evaluate('window.scrollTo(0, 0)');
    await messageLink(page, /Caller 119/).waitFor();
  });

  it('keeps only tens of rows in the page for a mailbox of 1,000', async () => {
    const box = await newMailbox(suite.server, 'Thousand');
    const { context } = suite.server;
    const key = await context.audio.put(toneWav({ seconds: 1 }));
    const start = Date.now() - 1000 * 60_000;
    await context.store.addMessages(
      Array.from({ length: 1000 }, (_, i): NewMessage => {
        const id = crypto.randomUUID();
        return {
          id,
          identity: `${id}@web-test`,
          mailboxId: box.id,
          kind: 'message',
          callerNumber: `555${String(i).padStart(4, '0')}`,
          callerName: `Many ${String(i).padStart(4, '0')}`,
          receivedAt: start + i * 60_000,
          audio: { key, format: 'wav/pcm16/8000', bytes: 8044, durationMs: 1000 },
          priority: 'normal',
          private: false,
          originServer: 'web-test',
          forwardedFrom: null,
        };
      }),
      Date.now(),
    );
    const page = await suite.open();
    await logIn(page, box.extension);
    await messageLink(page, /Many 0999/).waitFor();
    const rows = page.getByRole('list', { name: 'Messages' }).getByRole('listitem');
    expect(await rows.first().getAttribute('aria-setsize')).toBe('1000');
    // Three pages loaded as the list scrolls down (150 messages), and never more than tens of
    // rows in the document.
    let most = 0;
    await scrollUntil(page, async () => {
      most = Math.max(most, await rows.count());
      return Number(await rows.last().getAttribute('aria-posinset')) > 120;
    });
    expect(most).toBeGreaterThan(10);
    expect(most).toBeLessThan(60);
    expect(await page.locator('li').count()).toBeLessThan(70);
  }, 45_000); // pages come slowly on a loaded machine

  it('reopened with a session, asks for it and the first page once each, before the app is loaded', async () => {
    const box = await newMailbox(suite.server, 'Early Start');
    await seed(box.name, ['Early One', 'Early Two']);
    const page = await suite.open({ viewport: PHONE });
    await logIn(page, box.extension);
    await messageLink(page, /Early Two/).waitFor();
    const asked: string[] = [];
    page.on('request', (r) => {
      const url = new URL(r.url());
      asked.push(url.pathname + url.search);
    });
    await page.reload();
    await messageLink(page, /Early Two/).waitFor();
    expect((await callers(page))[0]).toMatch(/^Early Two/);
    expect(asked.filter((p) => p.startsWith('/api/messages?'))).toEqual([
      '/api/messages?folder=inbox&limit=50',
    ]);
    expect(asked.filter((p) => p === '/api/session')).toHaveLength(1);
    // Both leave before the app's own code (the chunk main.ts imports) is asked for.
    const app = asked.findIndex((p) => /^\/assets\/start-.*\.js$/.test(p));
    expect(app).toBeGreaterThan(0);
    expect(asked.indexOf('/api/session')).toBeLessThan(app);
    expect(asked.indexOf('/api/messages?folder=inbox&limit=50')).toBeLessThan(app);
    // Logged out, the login page asks for no list.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Voicemail code').waitFor();
    asked.length = 0;
    await page.reload();
    await page.getByLabel('Voicemail code').waitFor();
    expect(asked.filter((p) => p.startsWith('/api/messages'))).toEqual([]);
  });

  it('a change made elsewhere updates its one row, without fetching the list again', async () => {
    const box = await newMailbox(suite.server, 'One Row');
    const [first] = await seed(box.name, ['Row One', 'Row Two']);
    const page = await suite.open();
    await logIn(page, box.extension);
    await messageLink(page, /Row One/).waitFor();
    const lists: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/messages?')) lists.push(r.url());
    });
    await suite.server.context.messages.act(box.id, first!.id, 'save');
    await expect.poll(() => messageLink(page, /Row One/).textContent()).toContain('Saved');
    const arrived = await deposit(suite.server, box.name, { callerName: 'Row Three' });
    await messageLink(page, /Row Three/).waitFor();
    expect((await callers(page))[0]).toMatch(/^Row Three/);
    await suite.server.context.messages.act(box.id, arrived.id, 'delete');
    await expect.poll(() => callers(page)).toHaveLength(2);
    expect(lists).toEqual([]);
  });
});

for (const [size, viewport] of [
  ['desktop', DESKTOP],
  ['phone', PHONE],
] as const) {
  describe(`bulk actions on a ${size}`, () => {
    it('selects with clicks, shift-click and the keyboard, then acts on all at once', async () => {
      const box = await newMailbox(suite.server, `Bulk ${size}`);
      const made = await seed(box.name, ['B0', 'B1', 'B2', 'B3', 'B4']);
      const page = await suite.open({ viewport });
      await logIn(page, box.extension);
      const pick = (name: string) => page.getByRole('checkbox', { name: `Select ${name} (` });
      await pick('B4').check();
      await pick('B2').click({ modifiers: ['Shift'] });
      await page.getByText('3 selected').waitFor();
      // The keyboard: Space on a focused box.
      await pick('B0').focus();
      await page.keyboard.press('Space');
      await page.getByText('4 selected').waitFor();
      await page
        .getByRole('toolbar', { name: 'Actions on the selected messages' })
        .getByRole('button', { name: 'Save' })
        .click();
      await page.getByText('Save: 4 messages.').waitFor();
      const states = await Promise.all(made.map((m) => storedState(suite.server, m.id)));
      expect(states).toEqual(['saved', 'new', 'saved', 'saved', 'saved']);
    });

    it('selects every message matching a search, deletes them, and empties deleted', async () => {
      const box = await newMailbox(suite.server, `Bulk all ${size}`);
      const names = Array.from({ length: 60 }, (_, i) => (i % 2 ? `Spam ${i}` : `Friend ${i}`));
      await seed(box.name, names);
      const page = await suite.open({ viewport });
      await logIn(page, box.extension);
      await page.getByRole('searchbox', { name: 'Search callers' }).fill('spam');
      await page.getByText('30 messages match').waitFor();
      await expect
        .poll(async () => (await callers(page)).every((c) => c.startsWith('Spam')))
        .toBe(true);
      await page.getByRole('checkbox', { name: /^Select Spam 59/ }).check();
      await page.getByRole('button', { name: 'Select all 30 matching messages' }).click();
      await page.getByText('30 selected').waitFor();
      await page
        .getByRole('toolbar', { name: 'Actions on the selected messages' })
        .getByRole('button', { name: 'Delete' })
        .click();
      await page.getByText('Delete: 30 messages.').waitFor();
      expect((await suite.server.context.messages.counts(box.id)).deleted).toBe(30);

      await folderLink(page, 'Deleted').click();
      await page.getByRole('heading', { name: 'Deleted messages', level: 1 }).waitFor();
      await page.getByRole('button', { name: 'Empty deleted' }).click();
      const dialog = page.getByRole('dialog', { name: 'Empty the deleted messages?' });
      await dialog.getByText('The 30 deleted messages will be removed for good.').waitFor();
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      expect((await suite.server.context.messages.counts(box.id)).deleted).toBe(30);
      await page.getByRole('button', { name: 'Empty deleted' }).click();
      await dialog.getByRole('button', { name: 'Empty deleted' }).click();
      await page.getByText('Removed 30 messages for good.').waitFor();
      expect((await suite.server.context.messages.counts(box.id)).deleted).toBe(0);
      await page.getByText('No deleted messages.').waitFor();
    });

    it('refuses a bulk forward holding a private message, and changes nothing', async () => {
      const box = await newMailbox(suite.server, `Bulk private ${size}`);
      const other = await newMailbox(suite.server, `Receiver ${size}`);
      await deposit(suite.server, box.name, { callerName: 'Open One', seconds: 1 });
      await deposit(suite.server, box.name, {
        callerName: 'Secret One',
        seconds: 1,
        private: true,
      });
      const page = await suite.open({ viewport });
      await logIn(page, box.extension);
      await page.getByRole('checkbox', { name: /^Select Open One/ }).check();
      await page.getByRole('checkbox', { name: /^Select Secret One/ }).check();
      const bar = page.getByRole('toolbar', { name: 'Actions on the selected messages' });
      await bar.getByRole('button', { name: 'Forward' }).click();
      await bar.getByLabel('Mailbox').fill(other.extension);
      await bar.getByRole('button', { name: 'Forward' }).last().click();
      await page
        .locator('.status-region [role=alert]')
        .getByText(/private message cannot be forwarded/)
        .waitFor();
      expect(await suite.server.context.messages.list(other.id)).toEqual([]);
    });
  });
}
