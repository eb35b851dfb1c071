import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

let dir: string;
let cfg: string[];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-cli-flows-'));
  cfg = ['--config', join(dir, 'voicegate.yaml')];
  expect(await runCli(['init', '--dir', dir])).toMatchObject({ code: 0 });
  expect(
    await runCli([...cfg, 'mailbox', 'add', 'sales', '--extension', '300'], { input: '1234\n' }),
  ).toMatchObject({ code: 0 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GOOD = `
flows:
  attendant:
    numbers: ['5000']
    mailboxes: [sales]
    steps:
      - id: menu
        menu: { prompt: goodbye, keys: { 1: leave } }
      - id: leave
        leave-message: sales
`;

describe('voicegate flows', () => {
  it('check: no file means the built-in flows', async () => {
    const r = await runCli([...cfg, 'flows', 'check']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no file, the built-in flows answer/);
  });

  it('check: a good file gives a one-line summary', async () => {
    writeFileSync(join(dir, 'flows.yaml'), GOOD);
    const r = await runCli([...cfg, 'flows', 'check']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.trim().split('\n')).toEqual([
      `${join(dir, 'flows.yaml')}: OK, 1 flow, 2 steps, numbers 5000`,
    ]);
  });

  it('check: a bad file lists every error and exits 1', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      GOOD.replace('1: leave', '1: nowhere').replace('leave-message: sales', 'leave-message: bob'),
    );
    const r = await runCli([...cfg, 'flows', 'check', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}: flows.attendant.steps[0].menu.keys.1: no step "nowhere"`);
    expect(r.stderr).toContain(
      `${bad}: flows.attendant.steps[1].leave-message.mailbox: no mailbox "bob"`,
    );
    expect(r.stderr).toMatch(/voicegate: 2 errors in /);
  });

  it('check: a transfer outside the dial plan (sip.dialPlan) is an error', async () => {
    const file = join(dir, 'transfer.yaml');
    writeFileSync(
      file,
      GOOD.replace('1: leave', '1: leave, 2: op, 3: out').replace(
        '      - id: leave\n',
        "      - id: op\n        transfer: '300'\n      - id: out\n        transfer: '0899123456'\n      - id: leave\n",
      ),
    );
    const r = await runCli([...cfg, 'flows', 'check', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${file}: flows.attendant.steps[2].transfer.to: 0899123456 is neither a mailbox's extension nor in the dial plan (sip.dialPlan)`,
    );
    expect(r.stderr).toMatch(/voicegate: 1 error in /);
    const allowed = await runCli([
      ...cfg,
      '--set',
      "sip.dialPlan=['08XXXXXXXX']",
      'flows',
      'check',
      file,
    ]);
    expect(allowed).toMatchObject({ code: 0, stderr: '' });
  });

  it('show: the effective flows, built-ins included, as YAML or JSON', async () => {
    const json = await runCli([...cfg, 'flows', 'show', '--json']);
    expect(json.code).toBe(0);
    const flows = JSON.parse(json.stdout) as { name: string; builtin: boolean }[];
    expect(flows.map((f) => f.name)).toEqual([
      'builtin-leave-message',
      'builtin-collect-messages',
      'attendant',
    ]);
    const one = await runCli([...cfg, 'flows', 'show', 'attendant']);
    expect(one.stdout).toMatch(/^flows:\n {2}attendant:\n/);
    expect(one.stdout).toContain('leave-message:\n          mailbox: sales');
    const missing = await runCli([...cfg, 'flows', 'show', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^voicegate: no flow "nope"/);
  });
});
