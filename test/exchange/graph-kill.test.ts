import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.ts';
import { soxWav } from '../helpers/sox.ts';
import { until } from '../mail/mail-helpers.ts';
import { GraphServer } from '../support/graph-server.ts';

/**
 * `voicegate serve` killed (SIGKILL) after Exchange made the item and before the server heard
 * so (the shadow never learnt the item's id). Restarted, it finds the item by the voicemail's
 * identity: one item in Exchange, and the shadow remembers it.
 */
const ALICE = 'alice@contoso.example';
/** `delivery.targets.graph.timeoutSeconds`: a dead process's lease runs out soon after. */
const TIMEOUT_SECONDS = 2;

let dir: string;
let cfg: string[];
let graph: GraphServer;
let serving: ChildProcess | null = null;

function serve(): Promise<ChildProcess> {
  const sets = ['http.port=0', 'imap.port=0', 'imap.tlsPort=0', 'sip.port=0', 'smtp.port=0'];
  const child = spawn(
    process.execPath,
    [BIN, ...cfg, 'serve', ...sets.flatMap((s) => ['--set', s])],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let logs = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs}`)), 30_000);
    child.stderr!.on('data', (d: Buffer) => {
      logs += d.toString();
      if (logs.includes('"voicegate serving"')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${logs}`)));
  });
}

async function kill(): Promise<void> {
  const child = serving;
  serving = null;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

const cli = (...args: string[]) => runCli([...cfg, ...args]);

beforeAll(async () => {
  graph = await GraphServer.start({ users: [ALICE] });
  dir = mkdtempSync(join(tmpdir(), 'voicegate-exchange-kill-'));
  cfg = [
    '--config',
    join(dir, 'voicegate.yaml'),
    '--set',
    `exchange.connections=${JSON.stringify([graph.connection()])}`,
    '--set',
    `delivery.targets.graph.timeoutSeconds=${TIMEOUT_SECONDS}`,
    '--set',
    'exchange.syncSeconds=1',
  ];
  expect((await runCli(['init', '--dir', dir])).code).toBe(0);
  const add = await runCli([...cfg, 'mailbox', 'add', 'alice', '--extension', '201'], {
    input: '1234\n',
  });
  expect(add.code, add.stderr).toBe(0);
  const home = await cli(
    'mailbox',
    'set',
    'alice',
    '--home',
    'exchange',
    '--exchange-address',
    ALICE,
  );
  expect(home.code, home.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await kill();
  await graph?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a server killed between the item made in Exchange and the shadow updated', () => {
  it('finds the item after a restart and makes no second one', async () => {
    graph.holdCreates = true;
    serving = await serve();
    const deposit = await cli(
      'deposit',
      '201',
      soxWav(join(dir, 'in.wav'), 2),
      '--from',
      '5550133',
    );
    expect(deposit.code, deposit.stderr).toBe(0);
    await until(() => graph.createsHeld === 1, 15_000, 'the item made, its answer held');
    await kill();
    expect(graph.messages(ALICE)).toHaveLength(1);
    const made = graph.messages(ALICE)[0]!;

    graph.holdCreates = false;
    const before = graph.requests.length;
    serving = await serve();
    // Once its lease has run out, the restarted server looks the item up by its identity.
    const lookedUp = () =>
      graph.requests
        .slice(before)
        .some(
          (r) =>
            r.method === 'GET' && r.path === `/v1.0/users/${encodeURIComponent(ALICE)}/messages`,
        );
    await until(lookedUp, 30_000, 'the item looked up after the restart');
    expect(graph.messages(ALICE)).toHaveLength(1);
    expect(graph.messages(ALICE)[0]!.id).toBe(made.id);
    // The shadow remembers the item: reading it in Outlook reaches the voicemail.
    graph.setRead(ALICE, made.id, true);
    await until(
      async () => /"state":\s*"old"/.test((await cli('messages', 'alice', '--json')).stdout),
      20_000,
      'the voicemail played, read back from Exchange',
    );
    expect((await cli('queue', 'list')).stdout).toBe('the queue is empty\n');
    expect(graph.messages(ALICE)).toHaveLength(1);
  }, 120_000);
});
