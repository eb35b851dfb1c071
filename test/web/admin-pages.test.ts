/**
 * The admin area's pages in Chromium, used as an administrator would: a mailbox's every setting,
 * its greetings and a hunt group's members; administrators and the second factor; the queue by
 * target; the audit trail by kind and time; call flows checked; the status. Each page is reached
 * from the keyboard, every control has a name, and axe finds no violation.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Secret, TOTP } from 'otpauth';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../../server/domain/audit.ts';
import { toneWav } from '../../server/media/tone.ts';
import { newMailbox, unnamedControls, useBrowser } from './web-kit.ts';

const suite = useBrowser();
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const PASSWORD = 'browser admin password';
/** A request may take seconds on a machine busy with other suites. */
const SLOW = { timeout: 15_000 };

/** axe's violations and the controls without an accessible name, on the page as it is. */
async function problems(page: Page): Promise<string[]> {
  if (!(await page.evaluate('typeof axe !== "undefined"')))
    await page.addScriptTag({ content: AXE });
  const result = (await page.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as {
    violations: { id: string; nodes: { target: string[] }[] }[];
  };
  return [
    ...result.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`)),
    ...(await unnamedControls(page)),
  ];
}

async function adminLogIn(page: Page, name: string): Promise<void> {
  await page.goto('/#/admin');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: /^Mailboxes/ }).waitFor();
}

/** Opens a page of the admin area from the keyboard: focus its tab, press Enter. */
async function openTab(page: Page, name: string): Promise<void> {
  await page
    .getByRole('navigation', { name: 'Administration' })
    .getByRole('button', { name })
    .focus();
  await page.keyboard.press('Enter');
}

const notice = (page: Page) => page.getByRole('main').getByRole('status').textContent();

describe('the admin pages', () => {
  it("edits a mailbox's every setting, its greetings and a hunt group's members", async () => {
    const { context } = suite.server;
    await context.admins.add('pages', PASSWORD, CLI_ACTOR);
    const box = await newMailbox(suite.server, 'Edith Editor');
    await context.mailboxes.add({ name: `group${box.id}`, kind: 'group' }, '1234');
    const page = await suite.open({ bypassCSP: true });
    await adminLogIn(page, 'pages');

    await page.getByRole('button', { name: `Edit ${box.name}` }).click();
    const settings = page.getByRole('form', { name: 'Settings' });
    await settings.getByLabel('Full name').fill('Edith Smith');
    await settings.getByLabel('Time zone').fill('Europe/Paris');
    await settings.getByLabel('Greeting callers hear').selectOption('busy');
    await settings.getByLabel('Key 0 transfers to').fill('100');
    await settings.getByLabel('New SIP password').fill('a long phone password');
    await settings.getByLabel('Read e-mail from').fill(`imaps://${box.name}@mail.example.com`);
    await settings.getByLabel(/^E-mail account password/).fill('imap secret 42');
    expect(await problems(page)).toEqual([]);
    await settings.getByRole('button', { name: 'Save settings' }).click();
    await expect.poll(() => notice(page), SLOW).toBe(`Mailbox ${box.name} saved`);
    const saved = await context.mailboxes.resolve(box.name);
    expect(saved).toMatchObject({
      fullName: 'Edith Smith',
      timeZone: 'Europe/Paris',
      activeGreeting: 'busy',
      breakouts: { '0': '100' },
    });
    expect(saved.sip).not.toBeNull();
    expect((await context.emailReading.view(box.name)).secret).toBe('********');
    await settings.getByText(/^SIP credentials set: user/).waitFor();
    await settings.getByText('E-mail account password (one is kept)').waitFor();
    expect(await settings.getByLabel(/^E-mail account password/).inputValue()).toBe('');

    // A bad value is refused with the server's words, naming what is wrong.
    await settings.getByLabel('Time zone').fill('Mars/Olympus');
    await settings.getByRole('button', { name: 'Save settings' }).click();
    await expect
      .poll(() => page.getByRole('main').getByRole('alert').textContent(), SLOW)
      .toContain('"Mars/Olympus" is not a known time zone');

    // Greetings: upload, listen, remove.
    await page.getByLabel('Upload busy greeting').setInputFiles({
      name: 'busy.wav',
      mimeType: 'audio/wav',
      buffer: Buffer.from(toneWav({ seconds: 1 })),
    });
    await expect.poll(() => notice(page), SLOW).toBe(`Busy greeting of ${box.name} uploaded`);
    const player = page.getByLabel(`Busy greeting of ${box.name}`);
    const src = await player.getAttribute('src');
    const audio = await page.request.get(src!);
    expect([audio.status(), audio.headers()['content-type']]).toEqual([200, 'audio/wav']);
    await page.getByRole('button', { name: 'Remove busy greeting' }).click();
    await expect.poll(() => notice(page), SLOW).toBe(`Busy greeting of ${box.name} removed`);
    expect(await context.messages.greetings(box.name)).toEqual([]);

    // A hunt group's members.
    await page.getByRole('button', { name: 'Back to the list' }).click();
    await page.getByRole('button', { name: `Edit group${box.id}` }).click();
    await page.getByLabel(/^Members/).fill(`${box.extension}`);
    await page.getByRole('button', { name: 'Save members' }).click();
    await expect.poll(() => notice(page), SLOW).toBe(`Members of group${box.id} saved`);
    expect((await context.mailboxes.groupMembers(`group${box.id}`)).map((m) => m.name)).toEqual([
      box.name,
    ]);
    expect(await problems(page)).toEqual([]);
  }, 120_000);

  it('manages administrators and enrols a second factor; the queue, audit, flows and status pages', async () => {
    const { context } = suite.server;
    await context.admins.add('second', PASSWORD, CLI_ACTOR);
    const box = await newMailbox(suite.server, 'Queue Person');
    await context.mailboxes.update(box.name, { email: 'queue@example.com', emailMode: 'copy' });
    await context.messages.deposit({ mailbox: box.name, audio: toneWav({ seconds: 1 }) });
    const page = await suite.open({ bypassCSP: true });
    await adminLogIn(page, 'second');

    await openTab(page, 'Administrators');
    await page.getByLabel('Administrator name').fill('helper');
    await page.getByLabel('Their password').fill('helper password 1');
    await page.getByRole('button', { name: 'Add administrator' }).click();
    await expect.poll(() => notice(page), SLOW).toBe('Administrator helper added');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Remove helper' }).click();
    await expect.poll(() => notice(page), SLOW).toBe('Administrator helper removed');
    await page.getByRole('button', { name: 'Set up a second factor' }).click();
    const uri = (await page.locator('code.uri').textContent())!;
    expect(uri).toMatch(/^otpauth:\/\/totp\/.*second/);
    const secret = new URL(uri).searchParams.get('secret')!;
    expect(await problems(page)).toEqual([]);
    await page
      .getByLabel('Code from the app')
      .fill(new TOTP({ secret: Secret.fromBase32(secret) }).generate());
    await page.getByRole('button', { name: 'Confirm' }).click();
    await expect
      .poll(() => notice(page), SLOW)
      .toBe('Second factor set up: log-ins now ask for a one-time code');
    expect((await context.admins.list()).find((a) => a.name === 'second')?.totp).toBe(true);

    await openTab(page, 'Queue');
    await page.getByRole('heading', { name: 'smtp (1)' }).waitFor();
    await page.getByLabel('Target').selectOption('ews');
    await page.getByText('The queue is empty.').waitFor();
    await page.getByLabel('Target').selectOption('smtp');
    const id = (await context.deliveries.list())[0]!.id;
    await page.getByRole('button', { name: `Retry item ${id}` }).click();
    await expect.poll(() => notice(page), SLOW).toBe(`Item ${id} will be tried again now`);
    expect(await problems(page)).toEqual([]);

    await openTab(page, 'Audit trail');
    await page.getByLabel('Kind').selectOption('queue-change');
    await page.getByRole('button', { name: 'Show' }).click();
    const table = page.getByRole('table');
    // The table shown before (every kind) has the retry too: wait for the filtered one.
    await expect
      .poll(async () => {
        const text = (await table.textContent()) ?? '';
        return text.includes('retry now') && !text.includes('admin-change');
      }, SLOW)
      .toBe(true);
    await page.getByLabel('Until (UTC)').fill('2000-01-01T00:00');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByText('No records.').waitFor();
    expect(await problems(page)).toEqual([]);

    await openTab(page, 'Call flows');
    await page.getByText('(none: the built-in flows answer)').waitFor();
    await page
      .getByLabel('Flows to check (YAML)')
      .fill('flows:\n  a:\n    steps:\n      - dance: now\n');
    await page.getByRole('button', { name: 'Check the text' }).click();
    await page.getByRole('heading', { name: 'The text: 1 errors' }).waitFor();
    expect(await page.getByRole('list', { name: 'Errors' }).textContent()).toContain(
      'flows.a.steps[0]: unknown action "dance"',
    );
    expect(await problems(page)).toEqual([]);

    await openTab(page, 'Status');
    const listeners = page.getByRole('table', { name: 'Listeners' });
    await expect.poll(() => listeners.textContent(), SLOW).toContain('http');
    expect(await listeners.textContent()).toContain(String(new URL(suite.server.urls.http).port));
    await page.getByText('answering').waitFor();
    await page.getByText('A single server.').waitFor();
    expect(await problems(page)).toEqual([]);
  }, 120_000);
});
