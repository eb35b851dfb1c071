/** Faults found by using the app as its users would; each test failed before its fix. */
import { describe, expect, it } from 'vitest';
import {
  DESKTOP,
  PHONE,
  deposit,
  folderLink,
  logIn,
  messageLink,
  newMailbox,
  position,
  statusLine,
  useBrowser,
} from './web-kit.ts';

const suite = useBrowser();

describe('faults found in use', () => {
  it('log-out drops the "Deleted, Undo" notice, whose Undo would fail', async () => {
    const box = await newMailbox(suite.server, 'Undo Logout');
    await deposit(suite.server, box.name, { callerName: 'Gone Soon', seconds: 1 });
    const page = await suite.open();
    await logIn(page, box.extension);
    await messageLink(page, /Gone Soon/).click();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await statusLine(page).getByRole('button', { name: 'Undo' }).waitFor();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Voicemail code').waitFor();
    expect(await page.getByRole('button', { name: 'Undo' }).count()).toBe(0);
  });

  it('the "?" button is named by what it shows', async () => {
    const box = await newMailbox(suite.server, 'Help Name');
    const page = await suite.open();
    await logIn(page, box.extension);
    const help = page.getByRole('button', { name: 'Keyboard shortcuts (?)', exact: true });
    expect(await help.textContent()).toBe('?');
  });

  for (const [size, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    it(`an open message says "New" once (${size})`, async () => {
      const box = await newMailbox(suite.server, `New Once ${size}`);
      await deposit(suite.server, box.name, { callerName: 'Once Caller', seconds: 1 });
      const page = await suite.open({ viewport });
      await logIn(page, box.extension);
      await messageLink(page, /Once Caller/).click();
      const detail = page.getByRole('article', { name: /Once Caller/ });
      await detail.waitFor();
      expect(await detail.getByText('New', { exact: true }).count()).toBe(1);
    });

    it(`a private message says it cannot be forwarded instead of offering Forward (${size})`, async () => {
      const box = await newMailbox(suite.server, `Private ${size}`);
      await deposit(suite.server, box.name, { callerName: 'Secret', seconds: 1, private: true });
      const page = await suite.open({ viewport });
      await logIn(page, box.extension);
      await messageLink(page, /Secret/).click();
      const detail = page.getByRole('article', { name: /Secret/ });
      await detail.getByText('A private message cannot be forwarded.').waitFor();
      expect(await detail.getByRole('button', { name: /Forward/ }).count()).toBe(0);
    });
  }

  it('on a phone, an open message is the page: its heading is of the first level', async () => {
    const box = await newMailbox(suite.server, 'Phone Heading');
    await deposit(suite.server, box.name, { callerName: 'Heading Caller', seconds: 1 });
    const page = await suite.open({ viewport: PHONE });
    await logIn(page, box.extension);
    await messageLink(page, /Heading Caller/).click();
    const h1 = page.getByRole('heading', { level: 1 });
    await expect.poll(() => h1.allTextContents()).toEqual(['Heading Caller (5551234)']);
  });

  it("on a phone, a caller's number never breaks, leaving a lone bracket", async () => {
    const box = await newMailbox(suite.server, 'Number Wrap');
    await deposit(suite.server, box.name, {
      callerName: 'Maximilian Alexander Fitzgerald-Worthington',
      callerNumber: '+441632960961',
      seconds: 1,
    });
    const page = await suite.open({ viewport: { width: 320, height: 640 } });
    await logIn(page, box.extension);
    const link = messageLink(page, /Maximilian/);
    await link.waitFor();
    // Each line of the caller's text, as laid out: none is a bracket alone or starts with one.
    const lines = await link.locator('.caller').evaluate((element) => {
      const range = element.ownerDocument.createRange();
      const tops = new Map<number, string>();
      const walker = element.ownerDocument.createTreeWalker(element, 4);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const text = node.textContent ?? '';
        for (let i = 0; i < text.length; i++) {
          range.setStart(node, i);
          range.setEnd(node, i + 1);
          const rect = range.getBoundingClientRect();
          if (rect.width === 0) continue;
          const top = Math.round(rect.top);
          tops.set(top, (tops.get(top) ?? '') + text[i]);
        }
      }
      return [...tops.values()].map((line) => line.trim());
    });
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line).not.toMatch(/^\)|^[\d+]+\)?$|\($/);
    expect(lines.at(-1)).toMatch(/\(\+441632960961\)$/);
  });
});

describe('the player', () => {
  it('changing the speed keeps playing', async () => {
    const box = await newMailbox(suite.server, 'Speed Keeps');
    await deposit(suite.server, box.name, { callerName: 'Fast Talker', seconds: 8 });
    const page = await suite.open();
    await logIn(page, box.extension);
    await messageLink(page, /Fast Talker/).click();
    const detail = page.getByRole('article', { name: /Fast Talker/ });
    await detail.getByRole('button', { name: 'Play', exact: true }).click();
    await detail.getByRole('button', { name: 'Pause' }).waitFor();
    await detail.getByRole('button', { name: '1.5× speed' }).click();
    expect(
      await detail.getByRole('button', { name: '1.5× speed' }).getAttribute('aria-pressed'),
    ).toBe('true');
    const at = await position(page);
    await expect.poll(() => position(page), { timeout: 4000 }).toBeGreaterThan(at);
    expect(await detail.getByRole('button', { name: 'Pause' }).count()).toBe(1);
  });
});

describe('forwarding', () => {
  it("the mailbox suggestions never cover the dialog's buttons", async () => {
    const box = await newMailbox(suite.server, 'Forward From');
    for (const name of ['Zed One', 'Zed Two', 'Zed Three', 'Zed Four', 'Zed Five'])
      await newMailbox(suite.server, name);
    await deposit(suite.server, box.name, { callerName: 'To Forward', seconds: 1 });
    const page = await suite.open({ viewport: PHONE });
    await logIn(page, box.extension);
    await messageLink(page, /To Forward/).click();
    await page.getByRole('button', { name: 'Forward…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('combobox').fill('Zed');
    await dialog.getByRole('listbox').getByRole('option').first().waitFor();
    for (const name of ['Cancel', 'Forward']) {
      const button = dialog.getByRole('button', { name, exact: true });
      await button.scrollIntoViewIfNeeded();
      // What a tap at the button's centre would hit is the button itself.
      const hit = await button.evaluate((element) => {
        const r = element.getBoundingClientRect();
        const top = element.ownerDocument.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
        return top === element || element.contains(top);
      });
      expect(hit, name).toBe(true);
    }
  });
});

describe('changing the code', () => {
  it('a wrong current code says how many tries are left before the lockout', async () => {
    const box = await newMailbox(suite.server, 'Tries Left');
    const page = await suite.open();
    await logIn(page, box.extension);
    await folderLink(page, 'Settings').click();
    await page.getByLabel('Current code').fill('9999');
    await page.getByLabel('New code', { exact: true }).fill('4321');
    await page.getByLabel('New code again').fill('4321');
    await page.getByRole('button', { name: 'Change code' }).click();
    await page
      .getByText(
        /The current code is not right: \d+ tries left before the mailbox is locked on every channel/,
      )
      .waitFor();
    expect((await suite.server.context.mailboxes.resolve(box.name)).failedLogins).toBe(1);
  });
});

describe('greetings', () => {
  it('a file that is not audio is refused in plain words, not a converter’s', async () => {
    const box = await newMailbox(suite.server, 'Not Audio');
    const page = await suite.open();
    await logIn(page, box.extension);
    await folderLink(page, 'Settings').click();
    await page
      .getByLabel(/Upload a file\s+for the unavailable greeting/i)
      .setInputFiles({ name: 'notes.mp3', mimeType: 'audio/mpeg', buffer: Buffer.from('hello') });
    const alert = page.locator('.status-region [role=alert]');
    await expect
      .poll(() => alert.textContent())
      .toMatch(/This file is not audio that can be read \(WAV, Ogg, FLAC, MP3, AIFF or WebM\)/);
    expect(await alert.textContent()).not.toMatch(/sox|ffmpeg|FAIL|formats:|pipe:/i);
  });
});

describe('on a phone', () => {
  it('going back from a message returns to where the list was scrolled', async () => {
    const box = await newMailbox(suite.server, 'Scroll Back');
    for (let i = 0; i < 30; i++)
      await deposit(suite.server, box.name, {
        callerName: `Scroller ${String(i).padStart(2, '0')}`,
        seconds: 1,
        receivedAt: Date.now() - (30 - i) * 60_000,
      });
    const page = await suite.open({ viewport: PHONE });
    await logIn(page, box.extension);
    const far = messageLink(page, /Scroller 05/);
    // The list renders the rows on screen only: scroll as a user does until it is there.
    await expect
      .poll(
        async () => {
          await page.mouse.wheel(0, 400);
          return far.count();
        },
        { timeout: 8000 },
      )
      .toBe(1);
    await far.scrollIntoViewIfNeeded();
    const before = Number(await page.evaluate('window.scrollY'));
    expect(before).toBeGreaterThan(300);
    await far.click();
    await page.getByRole('article', { name: /Scroller 05/ }).waitFor();
    await page.getByRole('link', { name: /Back to inbox/ }).click();
    await far.waitFor();
    await expect.poll(async () => Number(await page.evaluate('window.scrollY'))).toBe(before);
  });
});
