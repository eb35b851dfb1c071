/**
 * A real IMAP server for tests: Debian's Dovecot (dovecot-imapd, installed by
 * scripts/install-test-tools.sh) on a free loopback port, in a temporary folder, with users
 * whose INBOX is written as a Maildir. The config is the yardstick's (test/bench/imap-dovecot.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dovecot, type MaildirMessage } from '../bench/imap-dovecot.ts';
import { freePort } from './free-port.ts';

export type { MaildirMessage };

export interface TestDovecot {
  port: number;
  stop(): Promise<void>;
  logTail(): string;
}

export async function startDovecot(
  users: { name: string; password: string; inbox: MaildirMessage[] }[],
): Promise<TestDovecot> {
  if (!existsSync('/usr/lib/dovecot/imap'))
    throw new Error('dovecot-imapd is not installed: run scripts/install-test-tools.sh');
  // Dovecot's processes pass through this folder's parent: a folder of our own, never /tmp.
  const base = mkdtempSync(join(tmpdir(), 'voicegate-dovecot-'));
  const dir = join(base, 'dovecot');
  mkdirSync(dir);
  const port = await freePort();
  const dovecot = new Dovecot(dir, port);
  dovecot.prepare(users.map((u) => ({ name: u.name, hash: `{PLAIN}${u.password}` })));
  for (const u of users) dovecot.writeMaildir(u.name, u.inbox);
  await dovecot.start();
  return {
    port,
    logTail: () => dovecot.logTail(),
    async stop() {
      await dovecot.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}
