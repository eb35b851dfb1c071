/** The app with the keyboard alone, and an accessible name on every control of the main pages. */
import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  CODE,
  deposit,
  folderLink,
  isFocused,
  logIn,
  messageLink,
  newMailbox,
  position,
  statusLine,
  storedState,
  unlabelledInDom,
  unnamedControls,
  useBrowser,
} from './web-kit.ts';

const suite = useBrowser();

/** Presses Tab until `target` has the focus; fails after `max` presses. */
async function tabTo(page: Page, target: Locator, max = 40): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if ((await target.count()) === 1 && (await isFocused(target))) return;
  }
  expect.fail(`Tab never reached ${target.toString()}`);
}

/** The caller heading of the open message. */
function openHeading(page: Page) {
  return page.getByRole('region', { name: 'Open message' }).getByRole('heading', { level: 2 });
}

describe('keyboard alone', () => {
  it('logs in, opens, plays, seeks, moves between and marks messages with keys only', async () => {
    const box = await newMailbox(suite.server, 'Keyboard User');
    await deposit(suite.server, box.name, { callerName: 'First Caller', seconds: 12 });
    await deposit(suite.server, box.name, { callerName: 'Second Caller', seconds: 12 });
    const page = await suite.open();
    await page.goto('/');
    await page.getByRole('button', { name: 'Log in' }).waitFor();

    await tabTo(page, page.getByLabel('Mailbox name or extension'));
    await page.keyboard.type(box.extension);
    await page.keyboard.press('Tab');
    expect(await isFocused(page.getByLabel('Voicemail code'))).toBe(true);
    await page.keyboard.type(CODE);
    await page.keyboard.press('Enter');
    const inbox = page.getByRole('heading', { name: 'Inbox', level: 1 });
    await inbox.waitFor();
    await expect.poll(() => isFocused(inbox)).toBe(true);
    const links = page.getByRole('list', { name: 'Messages' }).getByRole('link');
    await expect.poll(() => links.count()).toBe(2);
    const [top, below] = await links.allInnerTexts();
    const caller = (text = '') => text.split('\n')[0]!;
    const id = (await links.first().getAttribute('href'))!.replace('#/messages/', '');

    // j opens the first message in the list, and the focus lands on it; j and k move on and back.
    await page.keyboard.press('j');
    await expect.poll(() => openHeading(page).textContent()).toBe(caller(top));
    await expect.poll(() => isFocused(openHeading(page))).toBe(true);
    await page.keyboard.press('j');
    await expect.poll(() => openHeading(page).textContent()).toBe(caller(below));
    await page.keyboard.press('k');
    await expect.poll(() => openHeading(page).textContent()).toBe(caller(top));

    // Space plays and pauses; → seeks forward 5 seconds.
    await page.keyboard.press(' ');
    await page.getByRole('button', { name: 'Pause' }).waitFor();
    await expect.poll(() => position(page), { timeout: 4000 }).toBeGreaterThanOrEqual(1);
    await page.keyboard.press(' ');
    await page.getByRole('button', { name: 'Play', exact: true }).waitFor();
    const paused = await position(page);
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => position(page)).toBeGreaterThanOrEqual(paused + 4);
    await expect.poll(() => storedState(suite.server, id)).toBe('old');

    // u marks it unread again.
    await page.keyboard.press('u');
    await statusLine(page).filter({ hasText: 'Marked unread.' }).waitFor();
    await expect.poll(() => storedState(suite.server, id)).toBe('new');

    // ? shows the shortcuts; Escape closes them and gives the focus back.
    await page.keyboard.press('?');
    const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await help.waitFor();
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'hidden' });

    // Tab reaches the Play button; Enter presses it, and Space on it presses it again.
    const play = page.getByRole('button', { name: 'Play', exact: true });
    await tabTo(page, play);
    await page.keyboard.press('Enter');
    const pause = page.getByRole('button', { name: 'Pause' });
    await pause.waitFor();
    expect(await isFocused(pause)).toBe(true);
    await page.keyboard.press(' ');
    await play.waitFor();

    // Delete moves it to the deleted folder (a key other than Space is no button's).
    await page.keyboard.press('Delete');
    await statusLine(page)
      .filter({ hasText: `Deleted the message from ${caller(top)}.` })
      .waitFor();
    await expect.poll(() => storedState(suite.server, id)).toBe('deleted');
  });
});

describe('accessible names', () => {
  /** Checks the page as shown now, in the accessibility tree and in the DOM. */
  async function expectAllNamed(page: Page, where: string): Promise<void> {
    expect(await unnamedControls(page), `unnamed controls on ${where}`).toEqual([]);
    expect(await unlabelledInDom(page), `unlabelled elements on ${where}`).toEqual([]);
  }

  it('every button, field, link and slider on the main pages has a name', async () => {
    const box = await newMailbox(suite.server, 'Named Things');
    const message = await deposit(suite.server, box.name, { callerName: 'Named Caller' });
    const old = await deposit(suite.server, box.name, { callerName: 'Removed Caller' });
    await suite.server.context.messages.act(box.id, old.id, 'delete');
    const page = await suite.open();

    await page.goto('/');
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await expectAllNamed(page, 'the login page');

    await logIn(page, box.extension);
    await messageLink(page, /Named Caller/).click();
    await page.getByRole('button', { name: 'Play', exact: true }).waitFor();
    await expectAllNamed(page, 'the inbox with a message open');

    await page.getByRole('button', { name: 'Forward…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Forward the message' });
    await dialog.waitFor();
    await expectAllNamed(page, 'the forward dialog');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'hidden' });

    await page.getByRole('button', { name: 'Keyboard shortcuts' }).click();
    await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
    await expectAllNamed(page, 'the shortcuts dialog');
    await page.keyboard.press('Escape');

    await folderLink(page, 'Deleted').click();
    await page.getByRole('link', { name: /Removed Caller/ }).click();
    await page.getByRole('button', { name: 'Undelete' }).waitFor();
    await expectAllNamed(page, 'the deleted folder with a message open');

    await folderLink(page, 'Settings').click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Save e-mail settings' }).waitFor();
    await expectAllNamed(page, 'the settings');
    expect(await storedState(suite.server, message.id)).toBe('new');

    // The checks themselves find what they look for.
    await page.evaluate(`document.querySelector('main').insertAdjacentHTML(
      'beforeend', '<button type="button"></button><input id="stray">')`);
    expect(await unnamedControls(page)).toHaveLength(2);
    expect(await unlabelledInDom(page)).toHaveLength(2);
  });
});
