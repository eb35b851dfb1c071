/** Logging in to the web app, a wrong code, and changing the code in the settings. */
import { describe, expect, it } from 'vitest';
import {
  CODE,
  deposit,
  folderLink,
  isFocused,
  logIn,
  messageLink,
  newMailbox,
  statusLine,
  useBrowser,
} from './web-kit.ts';

const suite = useBrowser();
/** A log-in on a loaded machine: the code's hash and the page's answer take their time. */
const SLOW = { timeout: 15_000 };

describe('logging in', () => {
  it('logs in by extension and code through the labelled fields', async () => {
    const box = await newMailbox(suite.server, 'Alice Able');
    await deposit(suite.server, box.name, { callerName: 'Welcome Caller' });
    const page = await suite.open();

    await page.goto('/');
    await page.getByRole('heading', { name: 'Voicegate voicemail' }).waitFor();
    await page.getByLabel('Mailbox name or extension').fill(box.extension);
    await page.getByLabel('Voicemail code').fill(CODE);
    await page.getByRole('button', { name: 'Log in' }).click();

    await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
    expect(await page.getByRole('banner').textContent()).toContain(`Alice Able · ${box.extension}`);
    await messageLink(page, /Welcome Caller/).waitFor();
    expect(await folderLink(page, 'Inbox').textContent()).toMatch(/Inbox\s+1 new/);
    expect(await page.title()).toBe('(1) Voicegate voicemail');

    // The session cookie outlives a reload; logging out ends it.
    await page.reload();
    await messageLink(page, /Welcome Caller/).waitFor();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    expect(await page.getByRole('heading', { name: 'Inbox' }).count()).toBe(0);
  });

  it('a wrong code shows an error, clears the code field and keeps the login page', async () => {
    const box = await newMailbox(suite.server, 'Wrong Code');
    const page = await suite.open();
    await page.goto('/');
    const mailbox = page.getByLabel('Mailbox name or extension');
    const code = page.getByLabel('Voicemail code');

    await mailbox.fill(box.extension);
    await code.fill('9999');
    await page.getByRole('button', { name: 'Log in' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'Wrong mailbox or code.' });
    await alert.waitFor();
    expect(await code.inputValue()).toBe('');
    expect(await isFocused(code)).toBe(true);
    expect(await mailbox.inputValue()).toBe(box.extension);
    expect(await page.getByRole('heading', { name: 'Inbox' }).count()).toBe(0);

    // An unknown mailbox reads the same, so names cannot be probed.
    await mailbox.fill('nobody-here');
    await code.fill(CODE);
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => alert.textContent()).toContain('Wrong mailbox or code.');

    await mailbox.fill(box.name);
    await code.fill(CODE);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
  });
  it('locks the mailbox after repeated wrong codes, saying only what a wrong code says', async () => {
    const box = await newMailbox(suite.server, 'Locked Out');
    const page = await suite.open();
    await page.goto('/');
    await page.getByLabel('Mailbox name or extension').fill(box.name);
    const alert = page.getByRole('alert').filter({ hasText: /\S/ });
    for (let i = 0; i < 5; i++) {
      await page.getByLabel('Voicemail code').fill('0000');
      await page.getByRole('button', { name: 'Log in' }).click();
      await expect.poll(() => page.getByLabel('Voicemail code').inputValue(), SLOW).toBe('');
    }
    await expect.poll(() => alert.textContent(), SLOW).toContain('refused for a while');
    // The right code no longer helps while the lock lasts.
    await page.getByLabel('Voicemail code').fill(CODE);
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByLabel('Voicemail code').inputValue(), SLOW).toBe('');
    expect(await alert.textContent()).toContain('Wrong mailbox or code.');
    expect(await page.getByRole('heading', { name: 'Inbox' }).count()).toBe(0);
  }, 120_000);
});

describe('changing the code', () => {
  it('changes the code in the settings; the new code logs in and the old one does not', async () => {
    const box = await newMailbox(suite.server, 'Code Changer');
    const page = await suite.open();
    await logIn(page, box.extension);
    await folderLink(page, 'Settings').click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();

    const current = page.getByLabel('Current code');
    const fresh = page.getByLabel('New code', { exact: true });
    const again = page.getByLabel('New code again');
    await current.fill(CODE);
    await fresh.fill('246810');
    await again.fill('246811');
    await page.getByRole('button', { name: 'Change code' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: 'The new code and its repetition are not the same.' })
      .waitFor();

    await again.fill('246810');
    await page.getByRole('button', { name: 'Change code' }).click();
    await statusLine(page).filter({ hasText: 'Your voicemail code has been changed.' }).waitFor();
    expect(await current.inputValue()).toBe('');

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Mailbox name or extension').fill(box.extension);
    await page.getByLabel('Voicemail code').fill(CODE);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong mailbox or code.' }).waitFor();

    await page.getByLabel('Voicemail code').fill('246810');
    await page.getByRole('button', { name: 'Log in' }).click();
    // Back where the user logged out: the address (#/settings) is kept.
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Log out' }).waitFor();
  });
});
