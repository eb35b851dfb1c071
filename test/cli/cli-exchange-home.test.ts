import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { runCli } from '../helpers/cli.ts';

let dir: string;
let cfg: string[];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-cli-exchange-'));
  cfg = ['--config', join(dir, 'voicegate.yaml')];
  expect((await runCli(['init', '--dir', dir])).code).toBe(0);
  // The template's `exchange.connections: []`, filled in.
  const file = join(dir, 'voicegate.yaml');
  const connections = [
    '  connections:',
    '    - name: online',
    '      kind: graph',
    '      tenant: contoso.onmicrosoft.com',
    '      clientId: 11111111-2222-3333-4444-555555555555',
    '      clientSecret: the-client-secret',
    '    - name: onprem',
    '      kind: ews',
    '      url: https://mail.contoso.example/EWS/Exchange.asmx',
    '      auth: basic',
    '      username: svc-voicegate',
    '      password: the-ews-password',
  ].join('\n');
  const yaml = readFileSync(file, 'utf8');
  expect(yaml).toMatch(/^ {2}connections: \[\].*$/m);
  writeFileSync(file, yaml.replace(/^ {2}connections: \[\].*$/m, connections));
  for (const [name, ext] of [
    ['alice', '201'],
    ['bob', '202'],
  ])
    expect(
      (await runCli([...cfg, 'mailbox', 'add', name!, '--extension', ext!], { input: '1234\n' }))
        .code,
    ).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a mailbox at home in Exchange', () => {
  it('is set with its address and connection, and shown', async () => {
    const r = await runCli([
      ...cfg,
      'mailbox',
      'set',
      '201',
      '--home',
      'exchange',
      '--exchange-address',
      'alice@contoso.example',
      '--exchange-connection',
      'online',
    ]);
    expect(r.stdout).toContain(
      'alice: voicemail goes to Exchange, alice@contoso.example (connection online)',
    );
    const shown = JSON.parse((await runCli([...cfg, 'mailbox', 'show', 'alice', '--json'])).stdout);
    expect(shown).toMatchObject({
      home: 'exchange',
      exchangeAddress: 'alice@contoso.example',
      exchangeConnection: 'online',
    });
  });

  it('refuses a home without an address, an unknown connection, or none named among several', async () => {
    const noAddress = await runCli([...cfg, 'mailbox', 'set', 'bob', '--home', 'exchange']);
    expect(noAddress.code).not.toBe(0);
    expect(noAddress.stderr).toMatch(/needs the address of the user's Exchange mailbox/);
    const unknown = await runCli([
      ...cfg,
      'mailbox',
      'set',
      'bob',
      '--home',
      'exchange',
      '--exchange-address',
      'bob@contoso.example',
      '--exchange-connection',
      'cloud',
    ]);
    expect(unknown.stderr).toMatch(/no Exchange connection named "cloud".*online, onprem/);
    const several = await runCli([
      ...cfg,
      'mailbox',
      'set',
      'bob',
      '--home',
      'exchange',
      '--exchange-address',
      'bob@contoso.example',
    ]);
    expect(several.stderr).toMatch(/several Exchange connections are configured/);
    const shown = JSON.parse((await runCli([...cfg, 'mailbox', 'show', 'bob', '--json'])).stdout);
    expect(shown).toMatchObject({ home: 'local', exchangeAddress: null });
  });

  it("queues each new voicemail for its connection's target, and keeps it here meanwhile", async () => {
    const wav = join(dir, 'in.wav');
    writeFileSync(wav, toneWav({ seconds: 2 }));
    expect((await runCli([...cfg, 'deposit', '201', wav, '--from', '5551234'])).code).toBe(0);
    const queue = JSON.parse((await runCli([...cfg, 'queue', 'list', '--json'])).stdout);
    expect(queue).toMatchObject([
      {
        target: 'graph',
        kind: 'copy',
        recipient: 'alice@contoso.example',
        payload: { connection: 'online' },
        callerNumber: '5551234',
      },
    ]);
    const messages = JSON.parse((await runCli([...cfg, 'messages', '201', '--json'])).stdout);
    expect(messages).toHaveLength(1);
  });

  it('goes back home here', async () => {
    const r = await runCli([...cfg, 'mailbox', 'set', 'alice', '--home', 'local']);
    expect(r.stdout).toContain('alice: voicemail is kept here');
  });

  it('config print masks the connections\u2019 secrets', async () => {
    const r = await runCli([...cfg, 'config', 'print', '--json']);
    const printed = JSON.parse(r.stdout);
    expect(printed.exchange.connections).toMatchObject([
      { name: 'online', clientSecret: '********' },
      { name: 'onprem', password: '********', username: 'svc-voicegate' },
    ]);
    expect(r.stdout).not.toMatch(/the-client-secret|the-ews-password/);
  });
});
