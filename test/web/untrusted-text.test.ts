/** Caller data comes from whoever calls: markup in it is shown as text and never runs. */
import { describe, expect, it } from 'vitest';
import {
  deposit,
  logIn,
  messageLink,
  newMailbox,
  statusLine,
  storedState,
  useBrowser,
} from './web-kit.ts';

const suite = useBrowser();
const MARKUP = '<img src=x onerror="window.__xss=1">';

describe('untrusted caller data', () => {
  it('a caller name holding markup renders literally and runs nothing', async () => {
    const box = await newMailbox(suite.server, 'Careful Reader');
    const message = await deposit(suite.server, box.name, {
      callerName: MARKUP,
      callerNumber: '<b>5550</b>',
    });
    const page = await suite.open();
    const fetched: string[] = [];
    page.on('request', (request) => fetched.push(new URL(request.url()).pathname));
    await logIn(page, box.extension);

    const caller = `${MARKUP} (<b>5550</b>)`;
    const link = messageLink(page, caller);
    await link.waitFor();
    expect(await link.getByText(caller, { exact: true }).isVisible()).toBe(true);

    await link.click();
    const heading = page.getByRole('heading', { name: caller, level: 2 });
    await heading.waitFor();
    expect(await heading.textContent()).toBe(caller);

    // The forward dialog and the status line after a delete repeat the caller, as text too.
    await page.getByRole('button', { name: 'Forward…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Forward the message' });
    expect(await dialog.getByText(`From ${caller},`).isVisible()).toBe(true);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Delete' }).click();
    await statusLine(page)
      .filter({ hasText: `Deleted the message from ${caller}.` })
      .waitFor();
    await expect.poll(() => storedState(suite.server, message.id)).toBe('deleted');

    // Had the markup become an element, its image would have been fetched and its handler run.
    await page.waitForTimeout(300);
    expect(await page.locator('img, b').count()).toBe(0);
    expect(await page.evaluate('typeof window.__xss')).toBe('undefined');
    expect(fetched.filter((path) => path.endsWith('/x'))).toEqual([]);
  });

  it('a mail server’s refusal holding markup is shown with the message, literally', async () => {
    const box = await newMailbox(suite.server, 'Bounced Owner');
    await suite.server.context.mailboxes.update(box.name, {
      email: 'owner@example.com',
      emailMode: 'copy',
    });
    await deposit(suite.server, box.name, { callerName: 'Copied Caller' });
    // No mail server is configured: the copy waits in the queue until we refuse it for good.
    const [copy] = await suite.server.context.deliveries.list();
    expect(copy).toMatchObject({ kind: 'copy', mailboxId: box.id });
    const refusal = 'mx.example.org:25: 550 5.1.1 <b>x</b> no such user';
    // Claimed as a worker would (past any lease the server's own attempt holds), then refused.
    const store = suite.server.context.store;
    await store.claimDeliveries({
      target: 'smtp',
      holder: 'test',
      now: Date.now() + 3_600_000,
      leaseMs: 60_000,
      limit: 100,
    });
    expect(await store.failDelivery(copy!.id, 'test', refusal)).toBe(true);

    const page = await suite.open();
    await logIn(page, box.extension);
    const link = messageLink(page, /Copied Caller/);
    expect(await link.getByText('E-mail failed', { exact: true }).isVisible()).toBe(true);
    await link.click();
    const notice = page
      .getByRole('region', { name: 'Open message' })
      .getByText('The e-mail of this message could not be delivered:');
    await notice.waitFor();
    expect(await notice.textContent()).toBe(
      `The e-mail of this message could not be delivered: ${refusal}`,
    );
    expect(await page.locator('b').count()).toBe(0);
  });
});
