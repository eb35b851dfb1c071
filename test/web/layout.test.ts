/**
 * The main pages at desktop and phone sizes: nothing wider than the screen, the player usable
 * on a phone, and screenshots of each page kept under test/artifacts/screenshots/.
 */
import type { Locator, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DESKTOP,
  deposit,
  folderLink,
  logIn,
  messageLink,
  newMailbox,
  PHONE,
  position,
  screenshot,
  scrollWidth,
  useBrowser,
} from './web-kit.ts';

const suite = useBrowser();
const LONG_NAME = 'Dr. Maximiliane Featherstonehaugh-Cholmondeley, Accounts Receivable Department';
let box: { id: number; name: string; extension: string };

/** A mailbox with what the pages show: new, old, saved, priority, private and deleted messages. */
beforeAll(async () => {
  const server = suite.server;
  box = await newMailbox(server, 'Layout Tester');
  const now = Date.now();
  const at = (minutes: number) => now - minutes * 60_000;
  await deposit(server, box.name, { callerName: 'Ann Example', seconds: 8, receivedAt: at(1) });
  await deposit(server, box.name, { callerName: LONG_NAME, receivedAt: at(2), priority: 'high' });
  const heard = await deposit(server, box.name, { callerName: 'Heard Caller', receivedAt: at(3) });
  await server.context.messages.act(box.id, heard.id, 'play');
  const kept = await deposit(server, box.name, { callerNumber: '+15550100', receivedAt: at(4) });
  await server.context.messages.act(box.id, kept.id, 'save');
  await deposit(server, box.name, {
    callerName: 'Private Matter',
    private: true,
    receivedAt: at(5),
  });
  for (const name of ['Deleted Caller', 'Another Gone']) {
    const gone = await deposit(server, box.name, { callerName: name, receivedAt: at(9) });
    await server.context.messages.act(box.id, gone.id, 'delete');
  }
});

/** Whether the element lies inside the viewport's width. */
async function withinWidth(locator: Locator, width: number): Promise<boolean> {
  const rect = await locator.boundingBox();
  return rect !== null && rect.x >= 0 && rect.x + rect.width <= width + 0.5;
}

/** Fails when the page scrolls sideways; saves its screenshot either way. */
async function checkPage(page: Page, name: string, width: number): Promise<void> {
  await screenshot(page, name);
  expect(await scrollWidth(page), `${name} is wider than the screen`).toBeLessThanOrEqual(width);
}

describe('desktop, 1280×800', () => {
  it('shows the list beside the open message; screenshots of the main pages', async () => {
    const page = await suite.open({ viewport: DESKTOP });
    await page.goto('/');
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await checkPage(page, 'desktop-login', DESKTOP.width);

    await logIn(page, box.extension);
    await messageLink(page, /Ann Example/).click();
    const play = page.getByRole('button', { name: 'Play', exact: true });
    await play.waitFor();
    // Side by side: the list stays in view with the message open.
    expect(await page.getByRole('list', { name: 'Messages' }).isVisible()).toBe(true);
    await play.click();
    await expect.poll(() => position(page), { timeout: 4000 }).toBeGreaterThanOrEqual(1);
    await page.getByRole('button', { name: 'Pause' }).click();
    await checkPage(page, 'desktop-inbox', DESKTOP.width);

    await folderLink(page, 'Deleted').click();
    await page.getByRole('link', { name: /Deleted Caller/ }).waitFor();
    await checkPage(page, 'desktop-deleted', DESKTOP.width);

    await folderLink(page, 'Settings').click();
    await page.getByRole('button', { name: 'Save e-mail settings' }).waitFor();
    await checkPage(page, 'desktop-settings', DESKTOP.width);
  });
});

describe('phone, 360×740', () => {
  it('shows the inbox and a usable player without sideways scrolling', async () => {
    const page = await suite.open({ viewport: PHONE, isMobile: true, hasTouch: true });
    await page.goto('/');
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    expect(await withinWidth(page.getByRole('button', { name: 'Log in' }), PHONE.width)).toBe(true);
    await checkPage(page, 'phone-login', PHONE.width);

    await logIn(page, box.extension);
    const list = page.getByRole('list', { name: 'Messages' });
    await messageLink(page, /Ann Example/).waitFor();
    expect(await list.getByRole('link').count()).toBe(5);
    for (const link of await list.getByRole('link').all())
      expect(await withinWidth(link, PHONE.width), await link.innerText()).toBe(true);
    await checkPage(page, 'phone-inbox-list', PHONE.width);

    // An open message takes the whole screen, with a way back.
    await messageLink(page, /Ann Example/).tap();
    const play = page.getByRole('button', { name: 'Play', exact: true });
    await play.waitFor();
    expect(await list.isVisible()).toBe(false);
    const back = page.getByRole('link', { name: '← Back to inbox' });
    expect(await back.isVisible()).toBe(true);
    const controls = [
      play,
      page.getByRole('slider', { name: 'Position in the message' }),
      page.getByRole('group', { name: 'Playback speed' }),
      page.getByRole('list', { name: 'Message actions' }),
    ];
    for (const control of controls) {
      expect(await control.isVisible(), control.toString()).toBe(true);
      expect(await withinWidth(control, PHONE.width), control.toString()).toBe(true);
    }
    await play.tap();
    await expect.poll(() => position(page), { timeout: 4000 }).toBeGreaterThanOrEqual(1);
    await page.getByRole('button', { name: 'Pause' }).tap();
    await page.getByRole('button', { name: '1.5× speed' }).tap();
    expect(
      await page.getByRole('button', { name: '1.5× speed' }).getAttribute('aria-pressed'),
    ).toBe('true');
    await checkPage(page, 'phone-inbox', PHONE.width);

    // The longest caller name wraps rather than widening the page.
    await back.tap();
    await messageLink(page, LONG_NAME).tap();
    // On a phone the open message is the page: its heading is the first level.
    await page.getByRole('heading', { name: LONG_NAME, level: 1 }).waitFor();
    await checkPage(page, 'phone-long-name', PHONE.width);

    await folderLink(page, 'Deleted').tap();
    await page.getByRole('link', { name: /Deleted Caller/ }).waitFor();
    await checkPage(page, 'phone-deleted', PHONE.width);

    await folderLink(page, 'Settings').tap();
    await page.getByRole('button', { name: 'Save e-mail settings' }).waitFor();
    await checkPage(page, 'phone-settings', PHONE.width);
  });
});
