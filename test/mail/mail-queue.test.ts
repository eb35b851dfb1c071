import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Delivery } from '../../server/domain/delivery.ts';
import { BIN, runCli } from '../helpers/cli.ts';
import { soxWav } from '../helpers/sox.ts';
import { mailServers, parse, sleep, until } from './mail-helpers.ts';
import { SmtpRecorder } from './smtp-recorder.ts';

/**
 * The durable queue, with `voicegate serve` in a child process and the `queue` commands of
 * the real CLI: a forward-mode mailbox whose mail server is down, refuses, or comes back.
 */
let dir: string;
let cfg: string[];
let wavFile: string;
let smtp: SmtpRecorder;
let serving: ChildProcess | null = null;
let mailId: number;

/** Starts `voicegate serve` and resolves once it logs that it is serving. */
function serve(): Promise<ChildProcess> {
  const sets = [
    'http.port=0',
    'imap.port=0',
    'imap.tlsPort=0',
    'sip.port=0',
    'smtp.port=0',
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

async function inbox(): Promise<{ id: string; callerNumber: string }[]> {
  const r = await cli('messages', '201', '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { id: string; callerNumber: string }[];
}

async function deposit(from: string): Promise<void> {
  const r = await cli('deposit', '201', wavFile, '--from', from);
  expect(r.code, r.stderr).toBe(0);
}

const audioFiles = () =>
  readdirSync(join(dir, 'audio'), { recursive: true, withFileTypes: true }).filter((e) =>
    e.isFile(),
  ).length;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-mail-queue-'));
  cfg = ['--config', join(dir, 'voicegate.yaml')];
  expect((await runCli(['init', '--dir', dir])).code).toBe(0);
  const add = await runCli(
    [...cfg, 'mailbox', 'add', 'alice', '--extension', '201', '--email', 'alice@example.com'],
    { input: '1234\n' },
  );
  expect(add.code, add.stderr).toBe(0);
  expect((await cli('mailbox', 'set', 'alice', '--email-mode', 'forward')).code).toBe(0);
  wavFile = soxWav(join(dir, 'in.wav'), 2);
  // The mail server's port is known, but nothing listens there yet.
  smtp = await SmtpRecorder.start({ tls: 'none' });
  await smtp.down();
}, 30_000);

afterAll(async () => {
  await kill('SIGTERM');
  await smtp?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the durable e-mail queue', () => {
  it('keeps a forward queued while the mail server is down, retrying with back-off', async () => {
    serving = await serve();
    await deposit('+3311111111');
    const [first] = await until(
      async () => {
        const items = await queueJson();
        return items[0]?.attempts === 1 && items;
      },
      10_000,
      'a first attempt',
    );
    mailId = first!.id;
    expect(first).toMatchObject({
      kind: 'forward',
      status: 'pending',
      recipient: 'alice@example.com',
    });
    expect(first!.lastError).toContain(`127.0.0.1:${smtp.port}`);
    // The next try is about a minute away.
    expect(first!.nextAttemptAt - Date.now()).toBeGreaterThan(45_000);
    expect(first!.nextAttemptAt - Date.now()).toBeLessThan(61_000);
    const text = await cli('queue', 'list');
    const row = new RegExp(
      `^${mailId}\\s+smtp\\s+forward\\s+alice@example\\.com\\s+pending\\s+1\\s+(\\S+Z)\\s+127\\.0\\.0\\.1:${smtp.port}`,
      'm',
    ).exec(text.stdout);
    expect(row, text.stdout).not.toBeNull();
    expect(Date.parse(row![1]!)).toBeGreaterThan(Date.now() + 30_000);
    // A forward is not in the mailbox until it is sent or bounces.
    expect(await inbox()).toEqual([]);

    // `queue retry` makes it go now; it fails again and waits longer (5 minutes).
    const retry = await cli('queue', 'retry', String(mailId));
    expect(retry).toMatchObject({ code: 0, stdout: `mail ${mailId} will be tried again now\n` });
    const [second] = await until(
      async () => {
        const items = await queueJson();
        return items[0]?.attempts === 2 && items;
      },
      10_000,
      'a second attempt',
    );
    expect(second!.nextAttemptAt - Date.now()).toBeGreaterThan(4 * 60_000);
  });

  it('killed with the mail queued, restarted with the mail server up: delivered exactly once', async () => {
    await kill('SIGKILL');
    await smtp.up();
    // Due now rather than in 5 minutes; no server runs, so nothing is sent yet.
    expect((await cli('queue', 'retry', String(mailId))).code).toBe(0);
    await sleep(300);
    expect(smtp.mails).toEqual([]);

    serving = await serve();
    const [got] = await smtp.waitFor(1);
    expect(got!.to).toEqual(['alice@example.com']);
    const mail = await parse(got!.raw);
    expect(mail.subject).toContain('+3311111111');
    expect(Buffer.compare(mail.attachments[0]!.content, readFileSync(wavFile))).toBe(0);
    await until(async () => (await queueJson()).length === 0, 5000, 'the queue to empty');
    // Longer than one poll of the queue: still one mail.
    await sleep(2500);
    expect(smtp.mails).toHaveLength(1);
    expect((await cli('queue', 'list')).stdout).toBe('the queue is empty\n');
    expect(await inbox()).toEqual([]);
    expect(audioFiles()).toBe(0);
  });

  it('queue drop of a pending forward puts the voicemail into the mailbox', async () => {
    smtp.answer = 'defer';
    await deposit('+3322222222');
    const [waiting] = await until(
      async () => {
        const items = await queueJson();
        return items[0]?.attempts === 1 && items;
      },
      10_000,
      'a deferred attempt',
    );
    expect(waiting!.lastError).toMatch(/451/);
    const drop = await cli('queue', 'drop', String(waiting!.id));
    expect(drop).toMatchObject({ code: 0, stdout: `dropped mail ${waiting!.id}\n` });
    expect(await queueJson()).toEqual([]);
    expect(await inbox()).toEqual([expect.objectContaining({ callerNumber: '+3322222222' })]);
    // The audio the queue held now belongs to the message.
    expect(audioFiles()).toBe(1);
    expect(smtp.mails).toHaveLength(1);
  });

  it('a bounced forward is kept in the mailbox; retrying it is refused, dropping it keeps the audio', async () => {
    smtp.answer = 'reject';
    await deposit('+3333333333');
    const bounced = await until(
      async () => (await queueJson()).find((m) => m.status === 'failed'),
      10_000,
      'the bounce',
    );
    expect(bounced.lastError).toMatch(/550/);
    expect((await inbox()).map((m) => m.callerNumber).sort()).toEqual([
      '+3322222222',
      '+3333333333',
    ]);
    const retry = await cli('queue', 'retry', String(bounced.id));
    expect(retry.code).not.toBe(0);
    expect(retry.stderr).toMatch(/^voicegate: .*kept in the mailbox.*\n$/);
    expect((await cli('queue', 'drop', String(bounced.id))).code).toBe(0);
    expect(await queueJson()).toEqual([]);
    expect(await inbox()).toHaveLength(2);
    expect(audioFiles()).toBe(2);
    smtp.answer = 'accept';
  });

  it('answers a bad id with one line and a non-zero exit', async () => {
    for (const args of [
      ['retry', 'abc'],
      ['retry', '0'],
      ['retry', '1.5'],
      ['drop', '-3'],
      ['retry', '999'],
      ['drop', '999'],
    ]) {
      const r = await cli('queue', ...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr, args.join(' ')).toMatch(/^voicegate: [^\n]+\n$/);
    }
  });
});
