import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Delivery } from '../../server/domain/delivery.ts';
import { BIN, runCli } from '../helpers/cli.ts';
import { soxWav } from '../helpers/sox.ts';
import { mailServers, parse, until } from './mail-helpers.ts';
import { SmtpRecorder } from './smtp-recorder.ts';

/**
 * `voicegate serve` killed (SIGKILL) while a mail is under way: the mail server has the
 * connection and the envelope, and has not taken the mail. The item stays leased to the dead
 * process; a restarted server sends it once its lease has run out, and only once.
 */
let dir: string;
let cfg: string[];
let wavFile: string;
let smtp: SmtpRecorder;
let serving: ChildProcess | null = null;

/** `delivery.targets.smtp.timeoutSeconds`: a lease is twice that (`leaseFor`). */
const TIMEOUT_SECONDS = 3;

function serve(): Promise<ChildProcess> {
  const sets = [
    'http.port=0',
    'imap.port=0',
    'imap.tlsPort=0',
    'sip.port=0',
    'smtp.port=0',
    `delivery.targets.smtp.timeoutSeconds=${TIMEOUT_SECONDS}`,
    mailServers([{ port: smtp.port, tls: 'opportunistic' }]),
  ];
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

async function kill(signal: NodeJS.Signals): Promise<void> {
  const child = serving;
  serving = null;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

const cli = (...args: string[]) => runCli([...cfg, ...args]);

async function queueJson(): Promise<Delivery[]> {
  const r = await cli('queue', 'list', '--json');
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.startsWith('[') ? (JSON.parse(r.stdout) as Delivery[]) : [];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-kill-'));
  cfg = ['--config', join(dir, 'voicegate.yaml')];
  expect((await runCli(['init', '--dir', dir])).code).toBe(0);
  const add = await runCli(
    [...cfg, 'mailbox', 'add', 'alice', '--extension', '201', '--email', 'alice@example.com'],
    { input: '1234\n' },
  );
  expect(add.code, add.stderr).toBe(0);
  expect((await cli('mailbox', 'set', 'alice', '--email-mode', 'copy')).code).toBe(0);
  wavFile = soxWav(join(dir, 'in.wav'), 2);
  smtp = await SmtpRecorder.start({ tls: 'none' });
}, 30_000);

afterAll(async () => {
  await kill('SIGKILL');
  await smtp?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a server killed in the middle of a delivery', () => {
  it('sends the mail once after a restart, when the dead process lease has run out', async () => {
    smtp.holdEnvelope = true;
    serving = await serve();
    const deposit = await cli('deposit', '201', wavFile, '--from', '+3344444444');
    expect(deposit.code, deposit.stderr).toBe(0);
    await until(() => smtp.recipients === 1, 10_000, 'the mail under way');
    await kill('SIGKILL');

    // Nothing was sent; the item is still the dead process's until its lease ends.
    expect(smtp.mails).toEqual([]);
    const [held] = await queueJson();
    expect(held).toMatchObject({ target: 'smtp', kind: 'copy', status: 'pending', attempts: 0 });
    expect(held!.lease!.until).toBeGreaterThan(Date.now());
    expect(held!.lease!.until - Date.now()).toBeLessThanOrEqual(2 * TIMEOUT_SECONDS * 1000);

    smtp.holdEnvelope = false;
    serving = await serve();
    const [got] = await smtp.waitFor(1, 20_000);
    expect(Date.now()).toBeGreaterThanOrEqual(held!.lease!.until);
    expect(got!.to).toEqual(['alice@example.com']);
    expect((await parse(got!.raw)).subject).toContain('+3344444444');
    await until(async () => (await queueJson()).length === 0, 5000, 'the queue to empty');
    expect((await cli('queue', 'list')).stdout).toBe('the queue is empty\n');
    // Longer than one poll of the queue more: still one mail.
    const emptied = Date.now();
    await until(() => Date.now() > emptied + 2500, 5000, 'a poll more');
    expect(smtp.mails).toHaveLength(1);
  }, 120_000);
});
