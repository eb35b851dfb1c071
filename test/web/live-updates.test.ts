/**
 * Live updates: changes made elsewhere (the CLI in another process, a mail client over IMAP)
 * show in an open page within a second or two, without a reload.
 */
import { pbkdf2 } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { runCli } from '../helpers/cli.ts';
import { rawLogin } from '../imap/imapflow-raw.ts';
import {
  CODE,
  deposit,
  folderLink,
  logIn,
  messageLink,
  newMailbox,
  shownStatus,
  storedState,
  useBrowser,
} from './web-kit.ts';

const suite = useBrowser();

/** Marks the loaded page; a reload (or a navigation away) would lose the mark. */
async function markPage(page: Page): Promise<() => Promise<unknown>> {
  await page.evaluate('window.__sameDocument = true');
  return () => page.evaluate('window.__sameDocument');
}

describe('live updates', () => {
  it('a message deposited from the CLI appears without a reload', async () => {
    const box = await newMailbox(suite.server, 'Live Inbox');
    const page = await suite.open();
    await logIn(page, box.extension);
    await page.getByText('No messages.').waitFor();
    const sameDocument = await markPage(page);

    const file = join(suite.server.dir, 'live.wav');
    writeFileSync(file, toneWav({ seconds: 3 }));
    const cli = await runCli([
      '--config',
      suite.server.configFile,
      'deposit',
      box.extension,
      file,
      '--name',
      'Cli Caller',
      '--from',
      '5550100',
    ]);
    const exited = performance.now();
    expect(cli.code, cli.stderr).toBe(0);

    await messageLink(page, /Cli Caller \(5550100\)/).waitFor({ timeout: 2000 });
    expect(performance.now() - exited).toBeLessThan(2000);
    await expect.poll(() => folderLink(page, 'Inbox').textContent()).toMatch(/Inbox\s+1 new/);
    expect(await sameDocument()).toBe(true);
  });

  it('a message flagged over IMAP shows as saved without a reload', async () => {
    const box = await newMailbox(suite.server, 'Live Flags');
    const message = await deposit(suite.server, box.name, { callerName: 'Flagged Caller' });
    const page = await suite.open();
    await logIn(page, box.extension);
    await messageLink(page, /Flagged Caller/).click();
    const detail = page.getByRole('article', { name: /Flagged Caller/ });
    await detail.getByRole('button', { name: 'Save' }).waitFor();
    const sameDocument = await markPage(page);

    const imap = new ImapFlow({
      host: '127.0.0.1',
      port: suite.server.ports.imaps,
      secure: true,
      tls: { rejectUnauthorized: false },
      auth: { user: box.name, pass: CODE },
      logger: false,
    });
    await imap.connect();
    try {
      await imap.mailboxOpen('INBOX');
      expect(await imap.messageFlagsAdd(String(message.uid), ['\\Flagged'], { uid: true })).toBe(
        true,
      );
      const stored = performance.now();

      await detail.getByRole('button', { name: 'Unsave' }).waitFor({ timeout: 2000 });
      expect(performance.now() - stored).toBeLessThan(2000);
      expect(await shownStatus(page)).toBe('Saved');
      await expect.poll(() => messageLink(page, /Flagged Caller/).textContent()).toContain('Saved');
      expect(await storedState(suite.server, message.id)).toBe('saved');
      expect(await sameDocument()).toBe(true);
    } finally {
      await imap.logout();
    }
  });
});

describe('the IMAP client of the live updates', () => {
  // imap/imap-core.ts wraps close() on LOGOUT to flush the deflate stream; when the socket
  // closes first, imap-core sets _deflate to null, the inflate stream then fails on the
  // unfinished stream, and the wrapped close() throws an uncaught TypeError, which ends the
  // whole server process (voicegate serve has no uncaughtException handler).
  it('logging out under COMPRESS=DEFLATE answers OK and leaves the server running', async () => {
    const box = await newMailbox(suite.server, 'Compressed Client');
    const uncaught: string[] = [];
    const onUncaught = (error: Error) => uncaught.push(error.message);
    process.on('uncaughtException', onUncaught);
    try {
      const raw = await rawLogin(suite.server.ports.imaps, box.name, CODE);
      expect((await raw.compress()).status).toBe('OK');
      // A busy machine: zlib's thread pool is taken when the server compresses LOGOUT's answer,
      // so the answer may still be inside zlib when the server closes the connection.
      let busy = true;
      const occupy = (): void => {
        if (busy) pbkdf2('x', 'y', 20_000, 32, 'sha256', occupy);
      };
      for (let i = 0; i < 8; i++) occupy();
      try {
        expect((await raw.command('LOGOUT')).status).toBe('OK');
      } finally {
        busy = false;
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      raw.close();
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught, 'uncaught exceptions in the server').toEqual([]);
  });
});
