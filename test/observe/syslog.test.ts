import { createSocket } from 'node:dgram';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSyslog } from '../../server/compose/syslog.ts';
import { loadConfig } from '../../server/config/load.ts';
import { createLogger } from '../../server/log.ts';
import { SyslogSink, type SyslogOptions } from '../../server/observe/syslog-sink.ts';
import { freePort } from '../helpers/free-port.ts';
import { startRsyslog, type Rsyslog } from '../helpers/rsyslog.ts';

const quiet = new Writable({ write: (_c, _e, done) => done() });
const LOCAL0 = 16;

function sinkAndLogger(target: string, over: Partial<SyslogOptions> = {}) {
  const sink = new SyslogSink({
    target,
    facility: LOCAL0,
    appName: 'voicegate',
    minLevel: 40,
    buffer: 100,
    ...over,
  });
  const log = createLogger('silent', quiet, [{ level: 'info', stream: sink }]);
  return { sink, log };
}

/** An audit record as the audit trail logs it, its reason carrying every character RFC 5424 escapes. */
const audit = {
  kind: 'login',
  channel: 'imap',
  principal: 'mailbox',
  mailbox: '201',
  clientAddress: '192.0.2.7',
  outcome: 'failed',
  reason: 'caller said "a]b\\c"',
};

describe('syslog to a real rsyslog', () => {
  let rsyslog: Rsyslog;
  beforeAll(async () => {
    rsyslog = await startRsyslog();
  });
  afterAll(async () => {
    await rsyslog?.stop();
  });

  it('sends audit records, warnings and errors over TCP with the fields as escaped structured data', async () => {
    const { sink, log } = sinkAndLogger(`tcp://127.0.0.1:${rsyslog.tcpPort}`);
    log.info({ audit }, 'login failed');
    log.info({ mailbox: '201' }, 'an info record stays home');
    log.warn({ channel: 'web', password: 'hunter2', attempt: 3 }, 'login failed: wrong code');
    log.error({ err: Object.assign(new Error('disk full'), { code: 'ENOSPC' }) }, 'deposit failed');

    const line = await rsyslog.waitFor((l) => l.includes(' audit '));
    // rsyslog parsed the structured data back: the escapes are RFC 5424's, the MSG after it intact.
    expect(line).toBe(
      'local0 voicegate audit [audit@32473 kind="login" channel="imap" principal="mailbox" mailbox="201" ' +
        'clientAddress="192.0.2.7" outcome="failed" reason="caller said \\"a\\]b\\\\c\\""] \uFEFFlogin failed',
    );
    const warn = await rsyslog.waitFor((l) => l.endsWith('login failed: wrong code'));
    expect(warn).toContain('channel="web"');
    expect(warn).toContain('password="[redacted\\]"');
    expect(warn).not.toContain('hunter2');
    const error = await rsyslog.waitFor((l) => l.endsWith('deposit failed'));
    expect(error).toContain('err.code="ENOSPC"');
    expect(error).toContain('err.message="disk full"');
    expect(rsyslog.lines().some((l) => l.includes('stays home'))).toBe(false);
    expect(sink.stats()).toMatchObject({ dropped: 0, connected: true });
    await sink.close();
  });

  it('sends over TLS (RFC 5425) to a collector whose certificate the configured CA signed', async () => {
    const { sink, log } = sinkAndLogger(`tls://localhost:${rsyslog.tlsPort}`, {
      ca: readFileSync(rsyslog.caFile),
    });
    log.warn({ alarm: { kind: 'disk-low', state: 'raised' } }, 'alarm raised over TLS');
    const line = await rsyslog.waitFor((l) => l.endsWith('alarm raised over TLS'));
    expect(line).toContain('local0 voicegate alarm [alarm@32473 kind="disk-low" state="raised"]');
    await sink.close();
  });

  it('refuses a collector whose certificate it cannot check: nothing is sent, nothing thrown', async () => {
    const problems: string[] = [];
    const { sink, log } = sinkAndLogger(`tls://localhost:${rsyslog.tlsPort}`, {
      onProblem: (m) => problems.push(m),
    });
    log.warn('never reaches an unchecked collector');
    await expect.poll(() => problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatch(/certificate/i);
    expect(sink.stats()).toMatchObject({ sent: 0, connected: false });
    await sink.close();
    expect(rsyslog.lines().some((l) => l.includes('unchecked collector'))).toBe(false);
  });
});

describe('syslog as the config sets it up', () => {
  let rsyslog: Rsyslog;
  const dir = mkdtempSync(join(tmpdir(), 'voicegate-syslog-'));
  beforeAll(async () => {
    rsyslog = await startRsyslog();
  });
  afterAll(async () => {
    await rsyslog?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends to the configured collector with the configured facility and app name, the CA read from the data folder', async () => {
    copyFileSync(rsyslog.caFile, join(dir, 'collector-ca.pem'));
    writeFileSync(join(dir, 'voicegate.yaml'), 'server:\n  dataDir: .\n');
    const loaded = loadConfig(join(dir, 'voicegate.yaml'), [
      `syslog.target=tls://localhost:${rsyslog.tlsPort}`,
      'syslog.facility=auth',
      'syslog.appName=vm-east',
      'syslog.caFile=collector-ca.pem',
    ]);
    const syslog = openSyslog(loaded)!;
    const log = createLogger('silent', quiet, [syslog.destination]);
    log.info({ audit: { kind: 'unlock', mailbox: '201' } }, 'mailbox unlocked');
    const line = await rsyslog.waitFor((l) => l.endsWith('mailbox unlocked'));
    expect(line).toMatch(/^auth vm-east audit \[audit@32473 kind="unlock" mailbox="201"\]/);
    await syslog.sink.close();
  });

  it('refuses a facility or target it does not know, naming the key', () => {
    writeFileSync(join(dir, 'voicegate.yaml'), 'server:\n  dataDir: .\n');
    expect(() =>
      loadConfig(join(dir, 'voicegate.yaml'), ['syslog.target=http://collector:80']),
    ).toThrow(/syslog\.target/);
    expect(() => loadConfig(join(dir, 'voicegate.yaml'), ['syslog.facility=local9'])).toThrow(
      /syslog\.facility/,
    );
  });
});

describe('a collector that is away', () => {
  it('keeps the newest records in a bounded buffer, counts the dropped, and sends the rest once it is back', async () => {
    const port = await freePort();
    const problems: string[] = [];
    const { sink, log } = sinkAndLogger(`tcp://127.0.0.1:${port}`, {
      buffer: 10,
      onProblem: (m) => problems.push(m),
    });
    for (let i = 1; i <= 25; i++) log.warn({ i }, `record ${i}`);
    expect(sink.stats()).toMatchObject({ queued: 10, dropped: 15, sent: 0 });
    await expect.poll(() => problems.length).toBe(1);

    let received = '';
    const sockets: Socket[] = [];
    const collector = createServer((s) => {
      sockets.push(s);
      s.on('data', (c: Buffer) => (received += c.toString()));
    });
    await new Promise<void>((r) => collector.listen(port, '127.0.0.1', r));
    await expect
      .poll(() => (received.match(/record \d+/g) ?? []).length, { timeout: 10_000 })
      .toBe(10);
    // Octet counting: each frame is its length in bytes, a space, then exactly that many bytes.
    const frames: string[] = [];
    let rest = Buffer.from(received);
    while (rest.length > 0) {
      const space = rest.indexOf(0x20);
      const length = Number(rest.subarray(0, space).toString());
      frames.push(rest.subarray(space + 1, space + 1 + length).toString());
      rest = rest.subarray(space + 1 + length);
    }
    expect(frames.map((f) => f.split('\uFEFF')[1])).toEqual(
      Array.from({ length: 10 }, (_, k) => `record ${k + 16}`),
    );
    expect(frames[0]).toMatch(
      /^<132>1 \d{4}-\d\d-\d\dT[\d:.]+Z \S+ voicegate \d+ - \[fields@32473 i="16"\] /,
    );
    expect(sink.stats()).toMatchObject({ sent: 10, dropped: 15, queued: 0 });
    await sink.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => collector.close(r));
  });

  it('sends each record as one UDP datagram', async () => {
    const server = createSocket('udp4');
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
    const got = new Promise<string>((r) => server.once('message', (m) => r(m.toString())));
    const { sink, log } = sinkAndLogger(`udp://127.0.0.1:${server.address().port}`, {
      facility: 4, // auth
    });
    log.fatal('store lost');
    expect(await got).toMatch(/^<34>1 \S+ \S+ voicegate \d+ - - \uFEFFstore lost$/);
    await sink.close();
    server.close();
  });
});
