// `voicegate serve` processes on one PostgreSQL database, killed with SIGKILL: the one sending a
// mail (and leading), whose mail the other sends once, after the dead node's lease, taking over
// the lead; and one in the middle of deposits, which loses none it acknowledged and leaves none
// half-written.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { openStore } from '../../server/store/open-store.ts';
import { BIN, runCli } from '../helpers/cli.ts';
import { startPgCluster, type PgCluster } from '../helpers/postgres.ts';
import { serveProcess } from '../helpers/serve-process.ts';
import { soxWav } from '../helpers/sox.ts';
import { mailServers, until } from '../mail/mail-helpers.ts';
import { SmtpRecorder } from '../mail/smtp-recorder.ts';

/**
 * `delivery.targets.smtp.timeoutSeconds`: a lease is twice that. Not less: on a loaded 2-core
 * machine an SMTP handshake of a node just started took more than 3 s.
 */
const TIMEOUT_SECONDS = 6;

let cluster: PgCluster;
let smtp: SmtpRecorder;
let url: string;
const dirs: string[] = [];
const nodes: ChildProcess[] = [];

interface Node {
  child: ChildProcess;
  logs: () => string;
}

async function node(name: string): Promise<Node> {
  const dir = mkdtempSync(join(tmpdir(), `voicegate-${name}-`));
  dirs.push(dir);
  expect((await runCli(['init', '--dir', dir])).code).toBe(0);
  const sets = [
    'http.port=0',
    'imap.port=0',
    'imap.tlsPort=0',
    'sip.port=0',
    'smtp.port=0',
    'store.backend=postgresql',
    `store.url=${url}`,
    `delivery.targets.smtp.timeoutSeconds=${TIMEOUT_SECONDS}`,
    mailServers([{ port: smtp.port, tls: 'opportunistic' }]),
  ];
  const child = spawn(
    process.execPath,
    [BIN, '--config', join(dir, 'voicegate.yaml'), 'serve', ...sets.flatMap((s) => ['--set', s])],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  nodes.push(child);
  let logs = '';
  child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  await until(() => logs.includes('"voicegate serving"'), 30_000, `${name} serving:\n${logs}`);
  return { child, logs: () => logs };
}

/** The CLI of node `dir`'s config, on the shared database. */
const cli = (args: string[], input?: string) =>
  runCli(
    [
      '--config',
      join(dirs[0]!, 'voicegate.yaml'),
      '--set',
      'store.backend=postgresql',
      '--set',
      `store.url=${url}`,
      ...args,
    ],
    { input },
  );

beforeAll(async () => {
  cluster = await startPgCluster();
  url = await cluster.createDatabase();
  smtp = await SmtpRecorder.start({ tls: 'none' });
}, 120_000);

afterAll(async () => {
  for (const child of nodes)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await smtp?.close();
  await cluster?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('a node killed in the middle of a delivery', () => {
  it('has the other node send the mail once, after the lease, and take over the lead', async () => {
    smtp.holdEnvelope = true;
    const a = await node('a');
    await until(() => a.logs().includes('leading the nodes'), 10_000, 'node A leading');
    const add = await cli(
      ['mailbox', 'add', 'alice', '--extension', '201', '--email', 'alice@example.com'],
      '1234\n',
    );
    expect(add.code, add.stderr).toBe(0);
    expect((await cli(['mailbox', 'set', 'alice', '--email-mode', 'copy'])).code).toBe(0);
    const wav = soxWav(join(dirs[0]!, 'in.wav'), 2);
    const deposit = await cli(['deposit', '201', wav, '--from', '+3344444444']);
    expect(deposit.code, deposit.stderr).toBe(0);
    await until(() => smtp.recipients === 1, 10_000, 'the mail under way on node A');

    const b = await node('b');
    expect(b.logs()).not.toContain('leading the nodes');
    const killedAt = Date.now();
    const exited = new Promise((resolve) => a.child.once('exit', resolve));
    a.child.kill('SIGKILL');
    await exited;
    expect(smtp.mails).toEqual([]);
    smtp.holdEnvelope = false;

    // Node B leads within seconds (A's connection, and with it the lock, is gone) ...
    await until(() => b.logs().includes('leading the nodes'), 5000, 'node B leading');
    const ledAfter = Date.now() - killedAt;
    // ... and sends the mail once A's lease has run out, once.
    const [got] = await smtp.waitFor(1, 60_000);
    expect(got!.to).toEqual(['alice@example.com']);
    await until(
      async () => (await cli(['queue', 'list'])).stdout === 'the queue is empty\n',
      10_000,
    );
    const emptied = Date.now();
    await until(() => Date.now() > emptied + 2500, 5000, 'a poll more');
    expect(smtp.mails).toHaveLength(1);
    expect(ledAfter).toBeLessThan(5000);
  }, 180_000);
});

describe('a node killed in the middle of deposits', () => {
  it('loses no voicemail it acknowledged, and leaves none half-written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'voicegate-c-'));
    dirs.push(dir);
    expect((await runCli(['init', '--dir', dir])).code).toBe(0);
    const store = ['store.backend=postgresql', `store.url=${url}`];
    const opened = await openStore({ store: { backend: 'postgresql', url }, dataDir: dir });
    try {
      const add = await cli(['mailbox', 'add', 'dora', '--extension', '204'], '1234\n');
      expect(add.code, add.stderr).toBe(0);
      const box = (await opened.store.findMailbox('dora'))!;
      const node = await serveProcess(join(dir, 'voicegate.yaml'), store);
      nodes.push(node.child);
      const mailer = nodemailer.createTransport({
        host: '127.0.0.1',
        port: node.ports.smtp,
        secure: false,
        requireTLS: true,
        tls: { ca: readFileSync(join(dir, 'tls', 'cert.pem')) },
        pool: true,
        maxConnections: 4,
      });
      const tone = Buffer.from(toneWav({ seconds: 3 }));
      const acknowledged: string[] = [];
      let sent = 0;
      let killed = false;
      // Four senders at once, each mail its own voicemail (its caller number), until the node dies.
      const senders = Array.from({ length: 4 }, async () => {
        while (!killed) {
          const caller = `55560${String(sent++).padStart(3, '0')}`;
          const raw = await new MailComposer({
            from: `<${caller}@pbx.example>`,
            to: '204@voicegate.local',
            subject: 'Voice message',
            attachments: [{ filename: 'message.wav', content: tone }],
          })
            .compile()
            .build();
          try {
            const info = await mailer.sendMail({
              envelope: { from: 'pbx@pbx.example', to: ['204@voicegate.local'] },
              raw,
            });
            if (/^250 /.test(info.response)) acknowledged.push(caller);
          } catch {
            // refused or cut by the kill: not acknowledged, so the sender keeps it
          }
        }
      });
      await until(() => acknowledged.length >= 8, 60_000, 'deposits acknowledged');
      const exited = new Promise((resolve) => node.child.once('exit', resolve));
      node.child.kill('SIGKILL');
      await exited;
      killed = true;
      await Promise.all(senders);
      mailer.close();

      const stored = await opened.store.listMessages(box.id);
      const callers = stored.map((m) => m.callerNumber);
      for (const caller of acknowledged) expect(callers).toContain(caller);
      expect(new Set(callers).size).toBe(callers.length);
      expect(stored.length).toBeLessThanOrEqual(sent);
      // Each stored voicemail is whole: its audio all there, as long as every other.
      const first = stored[0]!;
      for (const m of stored) {
        expect(m.audio.bytes).toBe(first.audio.bytes);
        expect((await opened.audio.read(m.audio.key)).byteLength).toBe(m.audio.bytes);
      }
      // UIDs with no gap: no deposit took one and then vanished.
      const uids = stored.map((m) => m.uid).sort((x, y) => x - y);
      expect(uids).toEqual(uids.map((_, i) => uids[0]! + i));
    } finally {
      await opened.close();
    }
  }, 180_000);
});
