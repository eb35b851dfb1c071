import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeVersionProblem } from '../../bin/node-version.js';
import { runCli } from '../helpers/cli.ts';

let dir: string;
let cfg: string[];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-cli-'));
  cfg = ['--config', join(dir, 'voicegate.yaml')];
  const init = await runCli(['init', '--dir', dir]);
  expect(init).toMatchObject({ code: 0 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Exactly one line on stderr, prefixed, and the expected exit status. */
function expectOneLineError(
  r: { code: number | null; stderr: string },
  code: number,
  pattern: RegExp,
): void {
  expect(r.code).toBe(code);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^voicegate: /);
  expect(lines[0]).toMatch(pattern);
}

describe('voicegate init', () => {
  it('writes a commented config, the data folder and a self-signed certificate', async () => {
    const yaml = readFileSync(join(dir, 'voicegate.yaml'), 'utf8');
    expect(yaml).toMatch(/^# Voicegate configuration/);
    expect(yaml).toContain('tlsPort: 993');
    expect(readFileSync(join(dir, 'tls/cert.pem'), 'utf8')).toContain('BEGIN CERTIFICATE');
    expect(readFileSync(join(dir, 'tls/key.pem'), 'utf8')).toContain('PRIVATE KEY');
  });

  it('refuses to overwrite an existing setup', async () => {
    expectOneLineError(await runCli(['init', '--dir', dir]), 1, /already exists/);
  });
});

describe('voicegate mailbox and group', () => {
  it('adds, lists, shows and changes mailboxes by name or extension', async () => {
    expect(
      (
        await runCli(
          [
            ...cfg,
            'mailbox',
            'add',
            'alice',
            '--extension',
            '201',
            '--tz',
            'Europe/Paris',
            '--email',
            'alice@example.com',
          ],
          { input: '1234\n' },
        )
      ).stdout,
    ).toMatch(/added mailbox alice \(extension 201\)/);
    expect(
      (await runCli([...cfg, 'mailbox', 'add', 'bob', '--extension', '202'], { input: '5678\n' }))
        .code,
    ).toBe(0);
    const list = JSON.parse((await runCli([...cfg, 'mailbox', 'list', '--json'])).stdout) as {
      name: string;
      extension: string;
    }[];
    expect(list.map((m) => [m.name, m.extension])).toEqual([
      ['alice', '201'],
      ['bob', '202'],
    ]);
    expect(JSON.stringify(list)).not.toMatch(/codeHash|scrypt/);
    const table = (await runCli([...cfg, 'mailbox', 'list'])).stdout.split('\n');
    expect(table[0]).toMatch(/^NAME\s+EXT\s+KIND/);
    expect(table[1]).toMatch(
      /^alice\s+201\s+user\s+alice@example.com\s+off\s+Europe\/Paris\s+yes$/,
    );

    expect(
      (
        await runCli([
          ...cfg,
          'mailbox',
          'set',
          '202',
          '--full-name',
          'Bob Chen',
          '--tz',
          'Asia/Tokyo',
          '--breakout',
          '0=200',
        ])
      ).code,
    ).toBe(0);
    const bob = JSON.parse(
      (await runCli([...cfg, 'mailbox', 'show', 'bob', '--json'])).stdout,
    ) as Record<string, unknown>;
    expect(bob).toMatchObject({
      name: 'bob',
      fullName: 'Bob Chen',
      timeZone: 'Asia/Tokyo',
      breakouts: { '0': '200' },
      failedLogins: 0,
    });
    expect(bob).not.toHaveProperty('codeHash');
  });

  it('refuses duplicates, short codes and unknown mailboxes with one clear line', async () => {
    expectOneLineError(
      await runCli([...cfg, 'mailbox', 'add', 'alice', '--extension', '299'], { input: '1234\n' }),
      1,
      /name "alice" is already used/,
    );
    expectOneLineError(
      await runCli([...cfg, 'mailbox', 'add', 'carol', '--extension', '201'], { input: '1234\n' }),
      1,
      /extension "201" is already used by mailbox "alice"/,
    );
    expectOneLineError(
      await runCli([...cfg, 'mailbox', 'add', 'carol'], { input: '12\n' }),
      2,
      /at least 4 digits/,
    );
    expectOneLineError(
      await runCli([...cfg, 'mailbox', 'show', 'nobody']),
      1,
      /no mailbox named or numbered "nobody"/,
    );
    expectOneLineError(
      await runCli([...cfg, 'mailbox', 'set', 'alice', '--tz', 'Mars/Base']),
      2,
      /not a known time zone/,
    );
    const list = JSON.parse(
      (await runCli([...cfg, 'mailbox', 'list', '--json'])).stdout,
    ) as unknown[];
    expect(list).toHaveLength(2);
  });

  it('sets a code from standard input, never echoing it', async () => {
    const r = await runCli([...cfg, 'mailbox', 'set-code', 'alice'], { input: '97531\n' });
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain('97531');
    expect(readFileSync(join(dir, 'voicegate.db')).includes(Buffer.from('97531'))).toBe(false);
    expectOneLineError(
      await runCli([...cfg, 'mailbox', 'set-code', 'alice'], { input: 'abcd\n' }),
      2,
      /digits only/,
    );
    expectOneLineError(
      await runCli([...cfg, 'mailbox', 'set-code', 'alice'], { input: '' }),
      2,
      /no code on standard input/,
    );
  });

  it('still takes a code as an argument, warning that ps shows it', async () => {
    const added = await runCli([...cfg, 'mailbox', 'add', 'dave', '--code', '2468']);
    expect(added.code).toBe(0);
    expect(added.stderr).toMatch(/warning: --code is visible to every user .*\(ps\)/);
    expect(added.stdout).toMatch(/added mailbox dave/);
    const set = await runCli([...cfg, 'mailbox', 'set-code', 'dave', '1357']);
    expect(set.code).toBe(0);
    expect(set.stderr).toMatch(/warning: a code on the command line is visible/);
    const fromPipe = await runCli([...cfg, 'mailbox', 'set-code', 'dave'], { input: '9753\n' });
    expect([fromPipe.code, fromPipe.stderr]).toEqual([0, '']);
    await runCli([...cfg, 'mailbox', 'remove', 'dave']);
  });

  it('sets a SIP password from standard input, keeping only its digest hashes; warns when given as an argument', async () => {
    const secret = 'a long phone secret';
    const r = await runCli([...cfg, 'mailbox', 'set', 'alice', '--sip-password'], {
      input: `${secret}\n`,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SIP credentials for alice: user name 201, realm /);
    expect(r.stdout + r.stderr).not.toContain(secret);
    expect(readFileSync(join(dir, 'voicegate.db')).includes(Buffer.from(secret))).toBe(false);
    const shown = await runCli([...cfg, 'mailbox', 'show', 'alice']);
    expect(shown.stdout).toMatch(/sipCredentials +user 201, realm /);
    expect(shown.stdout).not.toMatch(/ha1/i);

    const visible = await runCli([...cfg, 'mailbox', 'set', 'alice', '--sip-password', secret]);
    expect(visible.code).toBe(0);
    expect(visible.stderr).toMatch(
      /warning: a SIP password on the command line is visible to every user/,
    );
    expectOneLineError(
      await runCli([...cfg, 'mailbox', 'set', 'alice', '--sip-password'], { input: 'short\n' }),
      2,
      /12 to 128 characters/,
    );
  });

  it('manages hunt group members', async () => {
    expect(
      (
        await runCli([...cfg, 'mailbox', 'add', 'sales', '--extension', '300', '--group'], {
          input: '3000\n',
        })
      ).stdout,
    ).toMatch(/added hunt group sales/);
    expect((await runCli([...cfg, 'group', 'members', '300', 'alice', '202'])).code).toBe(0);
    const members = JSON.parse(
      (await runCli([...cfg, 'group', 'members', 'sales', '--json'])).stdout,
    ) as { name: string }[];
    expect(members.map((m) => m.name)).toEqual(['alice', 'bob']);
    expectOneLineError(
      await runCli([...cfg, 'group', 'members', 'alice', 'bob']),
      2,
      /"alice" is not a hunt group/,
    );
  });

  it('refuses the old e-mail mode "exchange", saying the home replaced it', async () => {
    await runCli([...cfg, 'mailbox', 'add', 'erin', '--extension', '240'], { input: '1234\n' });
    const refused = await runCli([
      ...cfg,
      'mailbox',
      'set',
      'erin',
      '--email',
      'erin@contoso.example',
      '--email-mode',
      'exchange',
    ]);
    // A usage error: exit 1, refused before the store is opened.
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /e-mail mode "exchange" is gone: .*--home exchange --exchange-address ADDRESS/,
    );
    const shown = JSON.parse((await runCli([...cfg, 'mailbox', 'show', 'erin', '--json'])).stdout);
    expect(shown).toMatchObject({ email: null, emailMode: 'off' });
    const help = (await runCli([...cfg, 'mailbox', 'set', 'erin', '--help'])).stdout;
    expect(help.replace(/\s+/g, ' ')).toMatch(/choices: "off", "copy", "forward", "alert"\)/);
  });

  it('removes a mailbox', async () => {
    await runCli([...cfg, 'mailbox', 'add', 'temp'], { input: '1234\n' });
    expect((await runCli([...cfg, 'mailbox', 'remove', 'temp'])).code).toBe(0);
    expectOneLineError(await runCli([...cfg, 'mailbox', 'show', 'temp']), 1, /no mailbox/);
  });
});

describe('voicegate config and errors', () => {
  it('prints the effective config, with defaults and --set applied', async () => {
    const r = await runCli([...cfg, '--set', 'http.port=9999', 'config', 'print']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('port: 9999');
    expect(r.stdout).toContain('sessionIdleMinutes: 30');
    const viaEnv = await runCli(['config', 'print', '--json'], {
      env: { VOICEGATE_CONFIG: join(dir, 'voicegate.yaml') },
    });
    expect((JSON.parse(viaEnv.stdout) as { http: { port: number } }).http.port).toBe(8443);
  });

  it('names a bad config key and exits non-zero', async () => {
    expectOneLineError(
      await runCli([...cfg, '--set', 'imap.port=huge', 'mailbox', 'list']),
      2,
      /config key "imap.port" is invalid/,
    );
    expectOneLineError(
      await runCli([...cfg, '--set', 'imap.prot=1', 'config', 'print']),
      2,
      /unknown config key "imap.prot"/,
    );
    expectOneLineError(
      await runCli(['--config', join(dir, 'none.yaml'), 'mailbox', 'list']),
      2,
      /no config file/,
    );
  });

  it('has help for every command', async () => {
    for (const command of [
      [],
      ['init'],
      ['serve'],
      ['config', 'print'],
      ['mailbox', 'add'],
      ['mailbox', 'list'],
      ['mailbox', 'show'],
      ['mailbox', 'set'],
      ['mailbox', 'set-code'],
      ['mailbox', 'remove'],
      ['group', 'members'],
      ['deposit'],
      ['messages'],
      ['housekeeping', 'run'],
      ['demo'],
    ]) {
      const r = await runCli([...command, '--help']);
      expect(r.code, command.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/^Usage: voicegate/);
    }
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
  }, 120_000); // sixteen CLI processes, each loading the whole program

  it('explains that Node 24 is needed', () => {
    expect(nodeVersionProblem('20.20.2')).toMatch(
      /Node\.js 24 or later is required \(this is v20\.20\.2\)/,
    );
    expect(nodeVersionProblem('24.0.0')).toBeNull();
    expect(existsSync(join(dir, 'voicegate.db'))).toBe(true);
  });
});
