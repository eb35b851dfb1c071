/** A new message noticed; the language and time zone changed in the settings. */
import { describe, expect, it } from 'vitest';
import {
  DESKTOP,
  PHONE,
  deposit,
  folderLink,
  logIn,
  messageLink,
  newMailbox,
  statusLine,
  useBrowser,
} from './web-kit.ts';

const suite = useBrowser();

for (const [size, viewport] of [
  ['desktop', DESKTOP],
  ['phone', PHONE],
] as const) {
  describe(`on a ${size}`, () => {
    it('announces a new message politely and highlights it, but not one the user undeleted', async () => {
      const box = await newMailbox(suite.server, `Arrival ${size}`);
      await deposit(suite.server, box.name, { callerName: 'Earlier Caller', seconds: 1 });
      const page = await suite.open({ viewport });
      await logIn(page, box.extension);
      await messageLink(page, /Earlier Caller/).waitFor();
      const live = page.locator('p.sr-only[aria-live=polite]');
      expect(await live.textContent()).toBe('');

      await deposit(suite.server, box.name, { callerName: 'Fresh Caller', seconds: 1 });
      await expect.poll(() => live.textContent()).toBe('New message from Fresh Caller (5551234).');
      expect(await page.locator('li.arrived').count()).toBe(1);
      expect(await page.locator('li.arrived').textContent()).toContain('Fresh Caller');

      // The user's own undelete brings a new message back: nothing is announced.
      await messageLink(page, /Earlier Caller/).click();
      await page.getByRole('button', { name: 'Delete', exact: true }).click();
      await statusLine(page).getByRole('button', { name: 'Undo' }).click();
      await page.getByText(/back to the inbox/).waitFor();
      expect(await live.textContent()).toBe('New message from Fresh Caller (5551234).');
    });

    it('switches the language and time zone in the settings', async () => {
      const box = await newMailbox(suite.server, `Language ${size}`);
      await deposit(suite.server, box.name, {
        callerName: 'Zoned Caller',
        seconds: 1,
        receivedAt: Date.UTC(2025, 0, 15, 12, 0),
      });
      const page = await suite.open({ viewport });
      await logIn(page, box.extension);
      await folderLink(page, 'Settings').click();
      await page.getByLabel('Language', { exact: true }).selectOption('fr');
      await page.getByLabel('Time zone', { exact: true }).selectOption('Asia/Tokyo');
      await page.getByRole('button', { name: 'Save', exact: true }).first().click();
      await page.getByText('Langue et fuseau horaire enregistrés.').waitFor();
      expect(await page.locator('html').getAttribute('lang')).toBe('fr');
      // The whole app speaks French now: the header, the settings forms, the greetings.
      const nav = page.getByRole('navigation', { name: 'Dossiers et réglages' });
      await nav.getByRole('link', { name: 'Réglages' }).waitFor();
      await page.getByRole('heading', { name: 'Réglages', level: 1 }).waitFor();
      await page.getByLabel('Code actuel').waitFor();
      await page.getByRole('group', { name: 'Les appelants entendent' }).waitFor();
      await page.getByRole('button', { name: 'Se déconnecter' }).waitFor();
      await nav.getByRole('link', { name: /^Boîte de réception/ }).click();
      await page.getByRole('searchbox', { name: 'Rechercher un appelant' }).waitFor();
      // 12:00 UTC is 21:00 in Tokyo, in French ("15 janv. 2025 21:00").
      await expect
        .poll(() =>
          messageLink(page, /Zoned Caller/)
            .locator('time')
            .textContent(),
        )
        .toMatch(/15 janv\. 2025 21:00/);
      // The message and its player too.
      await page
        .getByRole('list', { name: 'Messages' })
        .getByRole('link', { name: /Zoned Caller/ })
        .click();
      await page.getByRole('button', { name: 'Lire' }).waitFor();
      await page.getByRole('group', { name: 'Vitesse de lecture' }).waitFor();
      await page.getByRole('list', { name: 'Actions sur le message' }).waitFor();
      await page.getByRole('slider', { name: 'Position dans le message' }).waitFor();
      await page.getByRole('button', { name: 'Transférer…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Transférer le message' });
      // The forward dialog dates the message as the list does.
      expect(await dialog.locator('.hint').first().textContent()).toMatch(/15 janv\. 2025 21:00/);
      await dialog.getByRole('button', { name: 'Annuler' }).click();
      const stored = await suite.server.context.mailboxes.resolve(box.name);
      expect([stored.locale, stored.timeZone]).toEqual(['fr', 'Asia/Tokyo']);
    });
  });
}
