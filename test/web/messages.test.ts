/** What users do to messages in the web app: play, mark unread, delete and undelete, forward. */
import { describe, expect, it } from 'vitest';
import {
  deposit,
  folderLink,
  logIn,
  messageLink,
  newMailbox,
  shownStatus,
  position,
  statusLine,
  storedState,
  useBrowser,
} from './web-kit.ts';

const suite = useBrowser();

describe('playing', () => {
  it('says why "Play on my phone" cannot call, before the click, when no phone is registered', async () => {
    const box = await newMailbox(suite.server, 'Phoneless');
    await deposit(suite.server, box.name, { callerName: 'Cy Caller', seconds: 2 });
    const page = await suite.open();
    await logIn(page, box.extension);
    await messageLink(page, /Cy Caller/).click();
    // Said before any click: the button is disabled and described by the reason.
    const button = page.getByRole('button', { name: 'Play on my phone' });
    const reason = `No phone is registered for ${box.extension}, and no PBX is set up to call it.`;
    await page.getByText(reason).waitFor();
    expect(await button.isDisabled()).toBe(true);
    await expect.poll(() => button.getAttribute('aria-describedby')).toBeTruthy();
    const describedBy = await button.getAttribute('aria-describedby');
    expect(await page.locator(`[id="${describedBy}"]`).textContent()).toBe(reason);
  });

  it('plays a message: the position advances and the message becomes old', async () => {
    const box = await newMailbox(suite.server, 'Player');
    const message = await deposit(suite.server, box.name, { callerName: 'Ann Player', seconds: 6 });
    const page = await suite.open();
    await logIn(page, box.extension);

    const link = messageLink(page, /Ann Player/);
    expect(await link.textContent()).toContain('New');
    await link.click();
    const detail = page.getByRole('article', { name: 'Ann Player (5551234)' });
    await detail.waitFor();
    const slider = detail.getByRole('slider', { name: 'Position in the message' });
    expect(await slider.getAttribute('aria-valuetext')).toBe('0:00 of 0:06');

    await detail.getByRole('button', { name: 'Play', exact: true }).click();
    await detail.getByRole('button', { name: 'Pause' }).waitFor();
    await expect.poll(() => position(page), { timeout: 4000 }).toBeGreaterThanOrEqual(1);
    expect(await slider.getAttribute('aria-valuetext')).toMatch(/^0:0[1-6] of 0:06$/);

    // Playing makes it old: its mark in the list and the detail change, and so does the store.
    await expect.poll(() => link.textContent()).toContain('Old');
    expect(await link.textContent()).not.toContain('New');
    await expect.poll(() => shownStatus(page)).toBe('Old');
    await expect.poll(() => storedState(suite.server, message.id)).toBe('old');

    await detail.getByRole('button', { name: 'Pause' }).click();
    await detail.getByRole('button', { name: 'Play', exact: true }).waitFor();
    const paused = await position(page);
    await page.waitForTimeout(1200);
    expect(await position(page)).toBe(paused);
  });
});

describe('marking unread', () => {
  it('mark unread raises the unread count in the header and the title', async () => {
    const box = await newMailbox(suite.server, 'Unread');
    const heard = await deposit(suite.server, box.name, { callerName: 'Heard Caller' });
    await deposit(suite.server, box.name, { callerName: 'Unheard Caller' });
    await suite.server.context.messages.act(box.id, heard.id, 'play');
    const page = await suite.open();
    await logIn(page, box.extension);

    await expect.poll(() => folderLink(page, 'Inbox').textContent()).toMatch(/Inbox\s+1 new/);
    expect(await page.title()).toBe('(1) Voicegate voicemail');

    await messageLink(page, /Heard Caller/).click();
    await page.getByRole('button', { name: 'Mark unread' }).click();
    await statusLine(page).filter({ hasText: 'Marked unread.' }).waitFor();
    await expect.poll(() => folderLink(page, 'Inbox').textContent()).toMatch(/Inbox\s+2 new/);
    await expect.poll(() => page.title()).toBe('(2) Voicegate voicemail');
    expect(await messageLink(page, /Heard Caller/).textContent()).toContain('New');
    // An unheard message cannot be marked unread again.
    expect(await page.getByRole('button', { name: 'Mark unread' }).isDisabled()).toBe(true);
    expect(await storedState(suite.server, heard.id)).toBe('new');
  });
});

describe('deleting', () => {
  it('deletes a message and undeletes it from the deleted folder', async () => {
    const box = await newMailbox(suite.server, 'Deleter');
    const gone = await deposit(suite.server, box.name, { callerName: 'Gone Caller' });
    await deposit(suite.server, box.name, { callerName: 'Staying Caller' });
    const page = await suite.open();
    await logIn(page, box.extension);

    await messageLink(page, /Gone Caller/).click();
    await page.getByRole('button', { name: 'Delete' }).click();
    await statusLine(page)
      .filter({ hasText: 'Deleted the message from Gone Caller (5551234).' })
      .waitFor();
    expect(await statusLine(page).getByRole('button', { name: 'Undo' }).isVisible()).toBe(true);
    await expect.poll(() => messageLink(page, /Gone Caller/).count()).toBe(0);
    await messageLink(page, /Staying Caller/).waitFor();
    expect(await storedState(suite.server, gone.id)).toBe('deleted');

    await folderLink(page, 'Deleted').click();
    await page.getByRole('heading', { name: 'Deleted messages', level: 1 }).waitFor();
    const deleted = page.getByRole('list', { name: 'Deleted messages' });
    const link = deleted.getByRole('link', { name: /Gone Caller/ });
    expect(await link.textContent()).toContain('Deleted (was new)');
    expect(await deleted.getByRole('link').count()).toBe(1);

    await link.click();
    await page.getByRole('button', { name: 'Undelete' }).click();
    await statusLine(page)
      .filter({ hasText: 'Moved the message from Gone Caller (5551234) back to the inbox.' })
      .waitFor();
    await page.getByText('No deleted messages.').waitFor();
    expect(await storedState(suite.server, gone.id)).toBe('new');

    await folderLink(page, 'Inbox').click();
    await messageLink(page, /Gone Caller/).waitFor();
    expect(await messageLink(page, /Gone Caller/).textContent()).toContain('New');
  });

  it('Undo in the status line brings a deleted message back; Delete forever removes it', async () => {
    const box = await newMailbox(suite.server, 'Undoer');
    const message = await deposit(suite.server, box.name, { callerName: 'Undo Caller' });
    const page = await suite.open();
    await logIn(page, box.extension);

    await messageLink(page, /Undo Caller/).click();
    await page.getByRole('button', { name: 'Delete' }).click();
    await statusLine(page).getByRole('button', { name: 'Undo' }).click();
    await messageLink(page, /Undo Caller/).waitFor();
    await expect.poll(() => storedState(suite.server, message.id)).toBe('new');

    await messageLink(page, /Undo Caller/).click();
    await page.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => storedState(suite.server, message.id)).toBe('deleted');
    await folderLink(page, 'Deleted').click();
    await page.getByRole('link', { name: /Undo Caller/ }).click();
    await page.getByRole('button', { name: 'Delete forever…' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete forever?' });
    expect(await confirm.textContent()).toContain('Undo Caller (5551234)');
    await confirm.getByRole('button', { name: 'Delete forever' }).click();
    await statusLine(page)
      .filter({ hasText: 'Deleted the message from Undo Caller (5551234) forever.' })
      .waitFor();
    await page.getByText('No deleted messages.').waitFor();
    expect(await suite.server.context.store.getMessage(message.id)).toBeNull();
  });
});

describe('forwarding', () => {
  it('forwards a message to a mailbox found in the search, where it arrives', async () => {
    const box = await newMailbox(suite.server, 'Forwarder');
    const target = await newMailbox(suite.server, 'Bob Builder');
    await deposit(suite.server, box.name, { callerName: 'Passed Caller' });
    const page = await suite.open();
    await logIn(page, box.extension);

    await messageLink(page, /Passed Caller/).click();
    await page.getByRole('button', { name: 'Forward…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Forward the message' });
    await dialog.waitFor();
    const to = dialog.getByRole('combobox', { name: 'To: mailbox name or extension' });
    await to.pressSequentially('Builder');
    const option = dialog
      .getByRole('listbox', { name: 'Matching mailboxes' })
      .getByRole('option', { name: /Bob Builder/ });
    await option.click();
    expect(await to.inputValue()).toBe(target.name);
    await dialog.getByRole('button', { name: 'Forward', exact: true }).click();

    await dialog.waitFor({ state: 'hidden' });
    await statusLine(page)
      .filter({ hasText: `Forwarded to ${target.name}.` })
      .waitFor();
    const arrived = await suite.server.context.messages.list(target.id);
    expect(arrived).toHaveLength(1);
    expect(arrived[0]).toMatchObject({
      callerName: 'Passed Caller',
      state: 'new',
      forwardedFrom: box.name,
    });
  });

  it('forwards a message to an e-mail address: it is queued for sending', async () => {
    const box = await newMailbox(suite.server, 'Mailer');
    const message = await deposit(suite.server, box.name, { callerName: 'Mailed Caller' });
    const page = await suite.open();
    await logIn(page, box.extension);

    await messageLink(page, /Mailed Caller/).click();
    await page.getByRole('button', { name: 'Forward…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Forward the message' });
    await dialog.getByRole('radio', { name: 'an e-mail address' }).check();
    await dialog.getByRole('textbox', { name: 'E-mail address' }).fill('carol@example.org');
    await dialog.getByRole('button', { name: 'Forward', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    await statusLine(page)
      .filter({ hasText: 'Sending the message to carol@example.org by e-mail.' })
      .waitFor();
    const queued = (await suite.server.context.deliveries.list()).filter(
      (m) => m.kind !== 'notice' && m.messageId === message.id,
    );
    expect(queued.map((m) => [m.kind, m.recipient])).toEqual([['manual', 'carol@example.org']]);
  });

  it('does not offer to forward a private message, and says why; the domain refuses it too', async () => {
    const box = await newMailbox(suite.server, 'Private Owner');
    const target = await newMailbox(suite.server, 'Nosy Neighbour');
    const secret = await deposit(suite.server, box.name, {
      callerName: 'Secret Caller',
      private: true,
    });
    const page = await suite.open();
    await logIn(page, box.extension);

    await messageLink(page, /Secret Caller/).click();
    const detail = page.getByRole('article', { name: /Secret Caller/ });
    await detail.getByText('Private', { exact: true }).waitFor();
    await detail.getByText('A private message cannot be forwarded.').waitFor();
    expect(await detail.getByRole('button', { name: 'Forward…' }).count()).toBe(0);
    const refusal = await suite.server.context.messages
      .forward(box.id, secret.id, target.name)
      .then(
        () => expect.fail('the domain forwarded a private message'),
        (err: Error) => err.message,
      );
    expect(refusal).toMatch(/private message cannot be forwarded/);
    expect(await suite.server.context.messages.list(target.id)).toHaveLength(0);
  });
});
