import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config/load.ts';
import { createLogger } from '../../server/log.ts';
import { toneWav } from '../../server/media/tone.ts';
import { startServer, type RunningServer } from '../../server/server.ts';
import { mailServers } from '../mail/mail-helpers.ts';
import { SmtpRecorder } from '../mail/smtp-recorder.ts';

const run = promisify(execFile);
const TOKEN = 'alarm-scrape-token-5e1d';
const OPS = 'ops@example.net';
const MB = 1024 * 1024;

interface Record {
  level: number;
  msg: string;
  alarm?: { kind: string; subject: string; state: string; detail: string };
  round?: number;
}

/**
 * A real server whose data folder is a small tmpfs of its own (mounted by the test, as root),
 * so the disk it checks really fills up; its log kept for the alarm records, and each alarm
 * mailed (through the queue) to an administrator at a real SMTP server (smtp-server).
 */
describe('alarms: raised once, cleared once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'voicegate-alarms-'));
  const logs: Record[] = [];
  let server: RunningServer;
  let smtp: SmtpRecorder;
  let mounted = false;

  beforeAll(async () => {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', dir]).catch((err: Error) => {
      throw new Error(`a tmpfs could not be mounted (the test needs root): ${err.message}`);
    });
    mounted = true;
    smtp = await SmtpRecorder.start({ tls: 'none' });
    smtp.alwaysAccept.add(OPS);
    writeFileSync(join(dir, 'voicegate.yaml'), 'server:\n  dataDir: .\n');
    const loaded = loadConfig(join(dir, 'voicegate.yaml'), [
      'http.port=0',
      'imap.port=0',
      'imap.tlsPort=0',
      'sip.port=0',
      'sip.rtpPortMin=0',
      'sip.rtpPortMax=0',
      'smtp.port=0',
      'metrics.enabled=true',
      `metrics.token=${TOKEN}`,
      'alarms.diskFreeMinMB=12',
      'alarms.checkSeconds=1',
      `alarms.mailTo=${OPS}`,
      mailServers([{ port: smtp.port, tls: 'opportunistic' }]),
    ]);
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean))
          logs.push(JSON.parse(line) as Record);
        done();
      },
    });
    server = await startServer(loaded, createLogger('debug', sink));
    await server.context.mailboxes.add(
      { name: 'Alice', extension: '201', email: 'alice@example.com', emailMode: 'copy' },
      '1234',
    );
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
    if (mounted) await run('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** The subjects of the alarm mails the administrator got, in the order they came. */
  const mailed = (): string[] =>
    smtp.mails
      .filter((m) => m.to.includes(OPS))
      .map((m) => {
        const head = m.raw
          .toString()
          .split(/\r?\n\r?\n/)[0]!
          .replace(/\r?\n(?=[ \t])/g, '');
        return /^Subject: (.*)$/m.exec(head)?.[1] ?? '';
      });
  const alarms = (kind: string, state: string) =>
    logs.filter((l) => l.alarm?.kind === kind && l.alarm.state === state);
  const round = () => Math.max(0, ...logs.map((l) => l.round ?? 0));
  const active = async (kind: string): Promise<number> => {
    const res = await server.http.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const line = res.body
      .split('\n')
      .find((l) => l.startsWith(`voicegate_alarm_active{kind="${kind}"} `));
    return Number(line?.split(' ')[1]);
  };

  it('raises disk-low when the tmpfs fills up, keeps quiet while it stays full, clears when freed', async () => {
    await expect.poll(round, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(alarms('disk-low', 'raised')).toHaveLength(0);
    const filler = join(dir, 'filler.bin');
    writeFileSync(filler, Buffer.alloc(14 * MB, 1));
    await expect.poll(() => alarms('disk-low', 'raised').length, { timeout: 10_000 }).toBe(1);
    const raised = alarms('disk-low', 'raised')[0]!;
    expect(raised.level).toBe(40);
    expect(raised.msg).toBe('alarm raised: the data folder is running out of disk space');
    expect(raised.alarm!.detail).toMatch(/^\d+ MB free, below 12 MB$/);
    expect(await active('disk-low')).toBe(1);
    const raisedMail = '[voicegate] alarm raised: the data folder is running out of disk space';
    await expect.poll(mailed, { timeout: 10_000 }).toEqual([raisedMail]);
    const body = smtp.mails.find((m) => m.to.includes(OPS))!.raw.toString();
    expect(body).toMatch(/^Auto-Submitted: auto-generated/m);
    expect(body).toMatch(/Seen: \d+ MB free, below 12 MB/);
    expect(body).toContain('What to do: free space or grow the disk');
    // Two more rounds of checks see the disk still full: nothing more is said.
    const seen = round();
    await expect.poll(round, { timeout: 10_000 }).toBeGreaterThanOrEqual(seen + 2);
    expect(alarms('disk-low', 'raised')).toHaveLength(1);

    unlinkSync(filler);
    await expect.poll(() => alarms('disk-low', 'cleared').length, { timeout: 10_000 }).toBe(1);
    expect(await active('disk-low')).toBe(0);
    expect(alarms('disk-low', 'raised')).toHaveLength(1);
    // Mailed once when raised and once when cleared, however many rounds saw it.
    await expect
      .poll(mailed, { timeout: 10_000 })
      .toEqual([
        raisedMail,
        '[voicegate] alarm cleared: the data folder is running out of disk space',
      ]);
  });

  it('raises delivery-failing when the mail server refuses for good, and clears it at the next delivery', async () => {
    smtp.answer = 'reject';
    await server.context.messages.deposit({
      mailbox: '201',
      audio: toneWav({ seconds: 1, frequency: 440 }),
    });
    await expect
      .poll(() => alarms('delivery-failing', 'raised').length, { timeout: 15_000 })
      .toBe(1);
    const raised = alarms('delivery-failing', 'raised')[0]!;
    expect(raised.alarm).toMatchObject({ subject: 'smtp', state: 'raised' });
    expect(raised.alarm!.detail).toMatch(/550/);
    expect(raised.msg).toBe('alarm raised: deliveries to a target fail for good (smtp)');
    expect(await active('delivery-failing')).toBe(1);

    // The mail server refuses alice's address, not the administrator's: the alarm reaches them.
    await expect
      .poll(() => mailed().slice(2), { timeout: 15_000 })
      .toEqual(['[voicegate] alarm raised: deliveries to a target fail for good (smtp)']);

    smtp.answer = 'accept';
    await server.context.messages.deposit({
      mailbox: '201',
      audio: toneWav({ seconds: 1, frequency: 550 }),
    });
    await expect
      .poll(() => smtp.mails.filter((m) => m.to.includes('alice@example.com')).length)
      .toBe(1);
    await expect
      .poll(() => alarms('delivery-failing', 'cleared').length, { timeout: 15_000 })
      .toBe(1);
    expect(await active('delivery-failing')).toBe(0);
    expect(alarms('delivery-failing', 'raised')).toHaveLength(1);
    await expect
      .poll(() => mailed().slice(2), { timeout: 15_000 })
      .toEqual([
        '[voicegate] alarm raised: deliveries to a target fail for good (smtp)',
        '[voicegate] alarm cleared: deliveries to a target fail for good (smtp)',
      ]);
    // Only the bounce is left in the queue; the notices went.
    await expect
      .poll(async () => (await server.context.deliveries.list()).map((d) => d.kind))
      .toEqual(['copy']);
  });
});
