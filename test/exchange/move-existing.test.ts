import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.ts';
import { soxWav } from '../helpers/sox.ts';
import { until } from '../mail/mail-helpers.ts';
import { GraphServer } from '../support/graph-server.ts';

/**
 * `voicegate mailbox set --home exchange --move-existing`, killed (SIGKILL) while Exchange made
 * an item whose answer never came, then run again: every voicemail kept here becomes one item,
 * none twice, and the progress is printed.
 */
const ALICE = 'alice@contoso.example';
let dir: string;
let cfg: string[];
let graph: GraphServer;

beforeAll(async () => {
  graph = await GraphServer.start({ users: [ALICE] });
  dir = mkdtempSync(join(tmpdir(), 'voicegate-exchange-move-'));
  cfg = [
    '--config',
    join(dir, 'voicegate.yaml'),
    '--set',
    `exchange.connections=${JSON.stringify([graph.connection()])}`,
    '--set',
    // A dead process's lease runs out soon after.
    'delivery.targets.graph.timeoutSeconds=5',
  ];
  expect((await runCli(['init', '--dir', dir])).code).toBe(0);
  const add = await runCli([...cfg, 'mailbox', 'add', 'alice', '--extension', '201'], {
    input: '1234\n',
  });
  expect(add.code, add.stderr).toBe(0);
  const wav = soxWav(join(dir, 'in.wav'), 1);
  for (let i = 0; i < 3; i++) {
    const r = await runCli([...cfg, 'deposit', '201', wav, '--from', `555010${i}`]);
    expect(r.code, r.stderr).toBe(0);
  }
}, 90_000);

afterAll(async () => {
  await graph?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('moving the voicemail kept here into Exchange', () => {
  it('interrupted half-way and run again: each voicemail becomes one item, with progress', async () => {
    // The first item is made in Exchange and its answer held: the move is killed then.
    graph.holdCreates = true;
    const first = spawn(
      process.execPath,
      [
        BIN,
        ...cfg,
        'mailbox',
        'set',
        'alice',
        '--home',
        'exchange',
        '--exchange-address',
        ALICE,
        '--move-existing',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    first.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    first.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((resolve) => first.once('exit', resolve));
    await until(() => graph.createsHeld >= 1, 60_000, 'an item made, its answer held').catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${out}`);
      },
    );
    first.kill('SIGKILL');
    await exited;
    expect(out).toMatch(
      /alice: moving 3 voicemail to Exchange \(0 of 3 there already, 3 newly queued\)/,
    );
    const madeBefore = graph.messages(ALICE).length;
    expect(madeBefore).toBeGreaterThanOrEqual(1);

    graph.holdCreates = false;
    const again = await runCli([...cfg, 'mailbox', 'set', 'alice', '--move-existing']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/newly queued/);
    expect(again.stdout).toMatch(/^moved 3 of 3$/m);
    expect(again.stdout).toMatch(/alice: its voicemail is in Exchange/);

    const items = graph.messages(ALICE);
    expect(items).toHaveLength(3);
    expect(new Set(items.map((i) => i.internetMessageId)).size).toBe(3);
    expect(items.every((i) => !i.isDraft && i.attachments.length === 1)).toBe(true);

    // Once more: nothing left to move, nothing made again.
    const done = await runCli([...cfg, 'mailbox', 'set', 'alice', '--move-existing']);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(
      /moving 0 voicemail to Exchange \(3 of 3 there already, 0 newly queued\)/,
    );
    expect(graph.messages(ALICE)).toHaveLength(3);
    expect((await runCli([...cfg, 'queue', 'list'])).stdout).toBe('the queue is empty\n');
  }, 180_000);

  it('refuses to move the voicemail of a mailbox at home here', async () => {
    await runCli([...cfg, 'mailbox', 'add', 'bob', '--extension', '202'], { input: '1234\n' });
    const r = await runCli([...cfg, 'mailbox', 'set', 'bob', '--move-existing']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/mailbox "bob" is not at home in Exchange \(--home exchange\)/);
  });
});
