/**
 * Shared pieces of the browser suites: Debian's Chromium driven by playwright-core (never a
 * downloaded browser), one context per test, a test server whose mailboxes and messages are
 * seeded through the domain, and screenshots kept as test artefacts.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Locator,
  type Page,
} from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { Message } from '../../server/domain/message.ts';
import { toneWav } from '../../server/media/tone.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

/** What the functions run in the page use of the DOM (the tests compile without its types). */
interface PageElement {
  outerHTML: string;
  textContent: string | null;
  type?: string;
  labels?: ArrayLike<unknown> | null;
  hasAttribute(name: string): boolean;
  checkVisibility(): boolean;
}
declare const document: {
  activeElement: unknown;
  documentElement: { scrollWidth: number };
  querySelectorAll(selectors: string): Iterable<PageElement>;
};

export const CHROMIUM = '/usr/bin/chromium';
export const CODE = '1234';
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 360, height: 740 };

const WEB_INDEX = fileURLToPath(new URL('../../web/dist/index.html', import.meta.url));
const SCREENSHOTS = fileURLToPath(new URL('../artifacts/screenshots/', import.meta.url));

/**
 * The background-networking flags keep Chromium from calling outside hosts, which this network
 * refuses. launch() gives the browser a fresh temporary --user-data-dir of its own and removes
 * it on close (playwright-core refuses the flag itself: that is what launchPersistentContext is
 * for, and it allows only one context).
 */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

/** Fails (never skips) when Chromium or the web build is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: run bash scripts/install-test-tools.sh`);
  if (!existsSync(WEB_INDEX)) throw new Error('web/dist is missing: run npm run build');
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 20_000 });
}

export interface BrowserSuite {
  /** The file's server, on loopback with a self-signed certificate. */
  readonly server: TestServer;
  /** A page in a fresh context (no cookies), closed after the test. */
  open(options?: BrowserContextOptions): Promise<Page>;
}

/**
 * One server and one browser for the calling test file (started in beforeAll, stopped in
 * afterAll). A test fails when a page it opened threw an uncaught exception.
 */
export function useBrowser(): BrowserSuite {
  let server: TestServer | undefined;
  let browser: Browser | undefined;
  const tabs: { context: BrowserContext; errors: string[] }[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchChromium();
  });
  afterEach(async () => {
    const errors = tabs.flatMap((tab) => tab.errors);
    for (const tab of tabs.splice(0)) await tab.context.close();
    expect(errors, 'uncaught exceptions in the page').toEqual([]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  return {
    get server(): TestServer {
      if (!server) throw new Error('the test server has not started');
      return server;
    },
    async open(options = {}) {
      if (!browser || !server) throw new Error('the browser has not started');
      const context = await browser.newContext({
        ignoreHTTPSErrors: true,
        viewport: DESKTOP,
        baseURL: server.urls.http,
        ...options,
      });
      context.setDefaultTimeout(8000);
      const page = await context.newPage();
      const tab = { context, errors: [] as string[] };
      tabs.push(tab);
      page.on('pageerror', (error) => tab.errors.push(error.message));
      return page;
    },
  };
}

let counter = 0;

/** A new user mailbox with code CODE; the extension is unique within the process. */
export async function newMailbox(
  server: TestServer,
  fullName: string,
): Promise<{ id: number; name: string; extension: string }> {
  const n = ++counter;
  const box = await server.context.mailboxes.add(
    { name: `user${n}`, extension: String(400 + n), fullName },
    CODE,
  );
  return { id: box.id, name: box.name, extension: box.extension! };
}

/** Deposits one voicemail of a plain tone, as the phone would. */
export async function deposit(
  server: TestServer,
  mailbox: string,
  opts: {
    seconds?: number;
    callerName?: string;
    callerNumber?: string;
    private?: boolean;
    priority?: 'high' | 'normal';
    receivedAt?: number;
  } = {},
): Promise<Message> {
  const [message] = await server.context.messages.deposit({
    mailbox,
    audio: toneWav({ seconds: opts.seconds ?? 4 }),
    callerName: opts.callerName ?? 'Joe Caller',
    callerNumber: opts.callerNumber ?? '5551234',
    private: opts.private,
    priority: opts.priority,
    receivedAt: opts.receivedAt,
  });
  return message!;
}

/** The state the store holds for a message now. */
export async function storedState(server: TestServer, id: string): Promise<string | undefined> {
  return (await server.context.store.getMessage(id))?.state;
}

/** Logs in through the form, by its labelled fields, and waits for the inbox. */
export async function logIn(page: Page, mailbox: string, code = CODE): Promise<void> {
  await page.goto('/');
  await page.getByLabel('Mailbox name or extension').fill(mailbox);
  await page.getByLabel('Voicemail code').fill(code);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
}

/** The link to a message in the list, by the caller shown. */
export function messageLink(page: Page, caller: string | RegExp) {
  return page.getByRole('list', { name: 'Messages' }).getByRole('link', { name: caller });
}

/** The Status shown with an open message (its details: Received, Length, Status). */
export async function shownStatus(page: Page): Promise<string | null> {
  const details = page.getByRole('region', { name: 'Open message' }).getByRole('definition');
  expect(await details.count()).toBe(3);
  return details.nth(2).textContent();
}

/** The status line at the bottom of the page (info notices). */
export function statusLine(page: Page) {
  return page.locator('.status-region [role=status]');
}

/** Seconds into the message, as the player's position slider says. */
export async function position(page: Page): Promise<number> {
  const slider = page.getByRole('slider', { name: 'Position in the message' });
  return Number(await slider.getAttribute('aria-valuenow'));
}

/** The page's width; more than the viewport's means a horizontal scroll bar. */
export async function scrollWidth(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth);
}

/**
 * Interactive elements in the accessibility tree that have no accessible name, as Chromium's
 * tree (through Playwright's aria snapshot) shows them: `- button` rather than `- button "Play"`.
 */
export async function unnamedControls(page: Page): Promise<string[]> {
  const roles = 'button|link|textbox|combobox|slider|checkbox|radio|spinbutton|searchbox|switch';
  const unnamed = new RegExp(`^\\s*- (${roles})(\\s*\\[[^\\]]*\\])*(:.*)?$`);
  const tree = await page.locator('body').ariaSnapshot();
  return tree.split('\n').filter((line) => unnamed.test(line));
}

/** Saves a full-page screenshot under test/artifacts/screenshots/ (git-ignored). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** The folder links in the header: `Inbox` (with its count, `Inbox 2 new`), `Deleted`, `Settings`. */
export function folderLink(page: Page, name: 'Inbox' | 'Deleted' | 'Settings') {
  return page
    .getByRole('navigation', { name: 'Folders and settings' })
    .getByRole('link', { name: new RegExp(`^${name}\\b`) });
}

/** Whether the element has the keyboard focus. */
export async function isFocused(locator: Locator): Promise<boolean> {
  return locator.evaluate((element) => element === document.activeElement);
}

/**
 * The same check in the DOM, for what the tree might hide: visible buttons with neither text
 * nor a label, and visible fields with no label at all.
 */
export async function unlabelledInDom(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const named = (el: PageElement) =>
      el.hasAttribute('aria-label') ||
      el.hasAttribute('aria-labelledby') ||
      el.hasAttribute('title');
    const found: string[] = [];
    for (const el of document.querySelectorAll('button, [role=button]')) {
      if (el.checkVisibility() && !el.textContent?.trim() && !named(el)) found.push(el.outerHTML);
    }
    for (const el of document.querySelectorAll('input, select, textarea')) {
      if (el.type === 'hidden' || !el.checkVisibility()) continue;
      if (!el.labels?.length && !named(el)) found.push(el.outerHTML);
    }
    return found;
  });
}
