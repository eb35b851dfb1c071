/** axe-core over every screen, at desktop and phone sizes: no violations. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  DESKTOP,
  PHONE,
  deposit,
  folderLink,
  logIn,
  messageLink,
  newMailbox,
  useBrowser,
} from './web-kit.ts';

const suite = useBrowser();
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Each violation as "rule: target", so a failure says what to fix. */
async function violations(page: Page): Promise<string[]> {
  if (!(await page.evaluate('typeof axe !== "undefined"')))
    await page.addScriptTag({ content: AXE });
  const result = (await page.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as {
    violations: { id: string; nodes: { target: string[] }[] }[];
  };
  return result.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
}

for (const [size, viewport] of [
  ['desktop', DESKTOP],
  ['phone', PHONE],
] as const) {
  it(`every screen passes axe on a ${size}`, async () => {
    const box = await newMailbox(suite.server, `Axe ${size}`);
    await deposit(suite.server, box.name, {
      callerName: 'Axe Caller',
      seconds: 1,
      priority: 'high',
    });
    const gone = await deposit(suite.server, box.name, { callerName: 'Axe Gone', seconds: 1 });
    await suite.server.context.messages.act(box.id, gone.id, 'delete');
    const page = await suite.open({ viewport, bypassCSP: true });
    await page.goto('/');
    await page.getByLabel('Voicemail code').waitFor();
    expect(await violations(page), 'login').toEqual([]);
    await logIn(page, box.extension);
    await messageLink(page, /Axe Caller/).waitFor();
    expect(await violations(page), 'inbox').toEqual([]);
    await page.getByRole('checkbox', { name: /^Select Axe Caller/ }).check();
    await page.getByText('Filters').click();
    expect(await violations(page), 'inbox with a selection and filters').toEqual([]);
    await messageLink(page, /Axe Caller/).click();
    await page.getByRole('article', { name: /Axe Caller/ }).waitFor();
    expect(await violations(page), 'message').toEqual([]);
    await folderLink(page, 'Deleted').click();
    await page.getByRole('heading', { name: 'Deleted messages', level: 1 }).waitFor();
    expect(await violations(page), 'deleted').toEqual([]);
    await page.getByRole('button', { name: 'Empty deleted' }).click();
    await page.getByRole('dialog').waitFor();
    expect(await violations(page), 'empty deleted dialog').toEqual([]);
    await page.keyboard.press('Escape');
    await folderLink(page, 'Settings').click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    expect(await violations(page), 'settings').toEqual([]);
  }, 90_000); // axe over seven screens, slow on a loaded machine
}

describe('the shortcuts help', () => {
  it('passes axe', async () => {
    const box = await newMailbox(suite.server, 'Axe Help');
    // axe is added as a script of the page: the app's CSP (rightly) forbids inline scripts.
    const page = await suite.open({ bypassCSP: true });
    await logIn(page, box.extension);
    await page.getByRole('button', { name: 'Keyboard shortcuts (?)' }).click();
    await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
    expect(await violations(page)).toEqual([]);
  });
});
