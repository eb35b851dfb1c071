/** The admin area (#/admin) in Chromium: its own chunk, log-in with and without TOTP, the pages. */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Secret, TOTP } from 'otpauth';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../../server/domain/audit.ts';
import { newMailbox, useBrowser } from './web-kit.ts';

const suite = useBrowser();
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const ASSETS = fileURLToPath(new URL('../../web/dist/assets/', import.meta.url));
const PASSWORD = 'browser admin password';
/** A request may take seconds on a machine busy with other suites. */
const SLOW = { timeout: 15_000 };

async function violations(page: Page): Promise<string[]> {
  if (!(await page.evaluate('typeof axe !== "undefined"')))
    await page.addScriptTag({ content: AXE });
  const result = (await page.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as {
    violations: { id: string; nodes: { target: string[] }[] }[];
  };
  return result.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
}

async function adminLogIn(page: Page, name: string, totp?: () => string): Promise<void> {
  await page.goto('/#/admin');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.keyboard.press('Enter');
  if (totp) {
    await page.getByLabel('One-time code').fill(totp());
    await page.getByRole('button', { name: 'Log in' }).click();
  }
  await page.getByRole('heading', { name: /^Mailboxes/ }).waitFor();
}

describe('the admin area', () => {
  it("is a chunk of its own: the mailbox user's bundle does not hold it", () => {
    const files = readdirSync(ASSETS).filter((f) => f.endsWith('.js'));
    const admin = files.filter((f) => f.startsWith('AdminApp-'));
    expect(admin).toHaveLength(1);
    const main = files.filter((f) => f.startsWith('index-'));
    expect(main.length).toBeGreaterThan(0);
    for (const f of main) {
      const js = readFileSync(ASSETS + f, 'utf8');
      expect(js).not.toContain('/api/admin/mailboxes');
      expect(js).not.toContain('Voicegate administration');
    }
    expect(readFileSync(ASSETS + admin[0]!, 'utf8')).toContain('/api/admin/mailboxes');
  });

  it('logs in, adds a mailbox, unlocks one, resets a code, reads the audit trail and the status', async () => {
    const { context } = suite.server;
    await context.admins.add('webroot', PASSWORD, CLI_ACTOR);
    const locked = await newMailbox(suite.server, 'Locked Person');
    await context.store.setLoginState(locked.id, 5, Date.now() + 3_600_000);
    const page = await suite.open({ bypassCSP: true });
    await page.goto('/#/admin');
    await page.getByLabel('Name').waitFor();
    expect(await violations(page)).toEqual([]);
    await adminLogIn(page, 'webroot');
    expect(await violations(page)).toEqual([]);

    await page.getByLabel('Name', { exact: true }).fill('carol');
    await page.getByLabel('Extension').fill('777');
    await page.getByLabel('First code').fill('2468');
    await page.getByRole('button', { name: 'Add mailbox' }).click();
    await expect
      .poll(() => page.getByRole('main').textContent(), SLOW)
      .toContain('Mailbox carol added');
    expect((await context.mailboxes.resolve('777')).name).toBe('carol');

    await page.getByRole('button', { name: `Unlock ${locked.name}` }).click();
    await expect
      .poll(() => page.getByRole('main').getByRole('status').textContent(), SLOW)
      .toBe(`${locked.name} unlocked`);
    expect((await context.mailboxes.loginState(locked.name)).lockedUntil).toBeNull();

    page.once('dialog', (d) => void d.accept('13579'));
    await page.getByRole('button', { name: 'Reset code of carol' }).click();
    await expect
      .poll(() => page.getByRole('main').getByRole('status').textContent(), SLOW)
      .toBe('Code of carol changed');
    await context.mailboxes.authenticate('carol', '13579', { channel: 'web', remote: '127.0.0.1' });

    // Keyboard: the tabs are buttons reached and pressed from the keyboard.
    await page.getByRole('button', { name: 'Audit trail' }).focus();
    await page.keyboard.press('Enter');
    const table = page.getByRole('table');
    await expect.poll(() => table.textContent(), SLOW).toContain('admin:webroot');
    const text = (await table.textContent())!;
    expect(text).toContain('unlock');
    expect(text).toContain('code-change');
    expect(text).not.toContain('13579');
    expect(await violations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Status' }).click();
    await expect.poll(() => page.getByText('answering').count(), SLOW).toBe(1);
  }, 90_000); // a dozen page actions and three axe runs, on a busy machine

  it('asks for the one-time code of an administrator with a second factor', async () => {
    const { context } = suite.server;
    const added = await context.admins.add('webtotp', PASSWORD, CLI_ACTOR);
    const secret = new Secret({ size: 20 }).base32;
    await context.store.setAdminTotp(added.id, secret);
    const app = new TOTP({ secret: Secret.fromBase32(secret) });
    const page = await suite.open({ bypassCSP: true });
    await page.goto('/#/admin');
    await page.getByLabel('Name').fill('webtotp');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect
      .poll(() => page.getByRole('main').getByRole('alert').textContent(), SLOW)
      .toBe('enter the one-time code from your authenticator app');
    await page.getByLabel('One-time code').fill(app.generate());
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: /^Mailboxes/ }).waitFor();
    await page.getByRole('button', { name: 'Log out webtotp' }).waitFor();
  });
});
