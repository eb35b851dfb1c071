import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

const PASSWORD = 'Tr0ub4dor-and-3';
let dir: string;
let cfg: string[];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-cli-read-email-'));
  cfg = ['--config', join(dir, 'voicegate.yaml')];
  expect((await runCli(['init', '--dir', dir])).code).toBe(0);
  const add = await runCli([...cfg, 'mailbox', 'add', 'alice', '--extension', '201'], {
    input: '1234\n',
  });
  expect(add.code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every file of the data folder but the key, as text: where a secret in clear would show. */
function dataFilesText(): string {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name !== 'server.key') out.push(readFileSync(p).toString('latin1'));
    }
  };
  walk(dir);
  return out.join('\n');
}

describe('voicegate mailbox set --read-email', () => {
  it('keeps an IMAP account with the password from standard input, sealed, and shows it masked', async () => {
    const r = await runCli(
      [...cfg, 'mailbox', 'set', '201', '--read-email', 'imap://alice@mail.example:993'],
      { input: `${PASSWORD}\n` },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(
      'alice: e-mail reading imap alice@mail.example:993 (implicit TLS, password ********)',
    );
    // The key was made at first use, readable by its owner only.
    const keyFile = join(dir, 'server.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const show = await runCli([...cfg, 'mailbox', 'show', 'alice', '--json']);
    expect(JSON.parse(show.stdout).readEmail).toBe(
      'imap alice@mail.example:993 (implicit TLS, password ********)',
    );
    const print = await runCli([...cfg, 'config', 'print']);
    for (const out of [r.stdout, r.stderr, show.stdout, show.stderr, print.stdout, dataFilesText()])
      expect(out).not.toContain(PASSWORD);
  });

  it('takes STARTTLS on other ports, an OAuth token, and turns off', async () => {
    const r = await runCli(
      [
        ...cfg,
        'mailbox',
        'set',
        'alice',
        '--read-email',
        'imap://alice%40corp.example@imap.corp.example?auth=oauth',
      ],
      { input: 'ya29.token-value\n' },
    );
    expect(r.stdout).toContain(
      'e-mail reading imap alice@corp.example@imap.corp.example:143 (starttls TLS, oauth ********)',
    );
    const off = await runCli([...cfg, 'mailbox', 'set', 'alice', '--read-email', 'off']);
    expect(off.stdout).toContain('alice: e-mail reading off');
  });

  it('refuses a password in the URL, other schemes, and a missing password, saying why', async () => {
    const inUrl = await runCli([
      ...cfg,
      'mailbox',
      'set',
      'alice',
      '--read-email',
      'imap://alice:hunter2@mail.example',
    ]);
    expect(inUrl.code).not.toBe(0);
    expect(inUrl.stderr).toContain('the password goes on standard input, not in the URL');
    expect(inUrl.stderr).not.toContain('hunter2');
    const pop = await runCli([...cfg, 'mailbox', 'set', 'alice', '--read-email', 'pop3://a@b']);
    expect(pop.stderr).toContain('not imap:// or imaps://');
    const none = await runCli([
      ...cfg,
      'mailbox',
      'set',
      'alice',
      '--read-email',
      'imaps://alice@mail.example',
    ]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/no code on standard input|password/);
  });
});
