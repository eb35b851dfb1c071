import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageDigest } from '../../server/domain/message-digest.ts';
import { runCli } from '../helpers/cli.ts';
import { serveProcess, type ServeProcess } from '../helpers/serve-process.ts';
import { runSipp } from '../helpers/sipp.ts';
import { until, wav } from '../mail/mail-helpers.ts';
import { scenario } from '../phone/sipp-kit.ts';
import { peer } from './peers-kit.ts';

/**
 * A split brain: a central and its backup, each `voicegate serve` in a network namespace of its
 * own joined by a veth pair. The link is taken down (`VG_PARTITION_SECONDS`, 30 by default):
 * the backup goes live, SIPp callers leave messages on both sides; the link comes up again and
 * both end with the same messages, the same digest (`voicegate topology digest`) and the same
 * lamps. Needs root and iproute2 (scripts/install-test-tools.sh); fails without them.
 */
const PARTITION_MS = Number(process.env.VG_PARTITION_SECONDS ?? 30) * 1000;
const tag = `${process.pid % 100_000}`;
const net = 10 + (process.pid % 200);
const side = {
  central: { ns: `vgpc${tag}`, veth: `vgc${tag}`, ip: `10.201.${net}.1` },
  backup: { ns: `vgpb${tag}`, veth: `vgb${tag}`, ip: `10.201.${net}.2` },
};
const PORTS = { sip: 15060, http: 18080, smtp: 12525 };

let dir: string;
const servers: Partial<Record<keyof typeof side, ServeProcess>> = {};

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });
const file = (name: keyof typeof side): string => join(dir, name, 'voicegate.yaml');

function sets(name: keyof typeof side): string[] {
  const self = side[name];
  const other = name === 'central' ? side.backup : side.central;
  const entry = peer({
    name: name === 'central' ? 'backup' : 'central',
    smtp: `${other.ip}:${PORTS.smtp}`,
    https: `http://${other.ip}:${PORTS.http}`,
    caFile: join(dir, name === 'central' ? 'backup' : 'central', 'tls', 'cert.pem'),
  });
  return [
    `server.name=${name}`,
    `server.role=${name}`,
    `sip.host=${self.ip}`,
    `sip.port=${PORTS.sip}`,
    `http.host=${self.ip}`,
    `http.port=${PORTS.http}`,
    'http.tls=false',
    `smtp.host=${self.ip}`,
    `smtp.port=${PORTS.smtp}`,
    'imap.port=0',
    'imap.tlsPort=0',
    'topology.retrySeconds=1',
    ...(name === 'central'
      ? ['topology.syncMessages=true', `topology.backup=${entry}`]
      : [
          `topology.central=${entry}`,
          'topology.failover.intervalSeconds=1',
          'topology.failover.missedBeats=2',
          'topology.failover.failback=automatic',
          'topology.failover.timeoutSeconds=1',
        ]),
  ];
}

const cli = (name: keyof typeof side, ...args: string[]) =>
  runCli(['--config', file(name), ...sets(name).flatMap((s) => ['--set', s]), ...args]);

async function digest(name: keyof typeof side): Promise<MessageDigest> {
  const r = await cli(name, 'topology', 'digest', '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as MessageDigest;
}

const failoverState = (): string | null => {
  try {
    return (
      JSON.parse(readFileSync(join(dir, 'backup', 'failover-state.json'), 'utf8')) as {
        state: string;
      }
    ).state;
  } catch {
    return null;
  }
};

/** `calls` SIPp callers at once leaving a message in mailbox 201 on one side. */
async function callers(name: keyof typeof side, calls: number): Promise<void> {
  const run = await runSipp(scenario('crash-caller.xml'), `${side[name].ip}:${PORTS.sip}`, {
    service: '201',
    calls,
    args: ['-l', String(calls)],
    netns: { name: side[name].ns, ip: side[name].ip },
  });
  expect(run.code, `${run.log}\n${servers[name]?.logs().slice(-3000)}`).toBe(0);
}

/** Until both sides hold `count` messages with one digest; returns it. */
async function sameDigest(count: number, ms: number): Promise<MessageDigest> {
  let last: MessageDigest[] = [];
  return until(
    async () => {
      const [c, b] = [await digest('central'), await digest('backup')];
      last = [c, b];
      return c.messages === count && b.messages === count && c.digest === b.digest ? c : null;
    },
    ms,
    `both sides with ${count} messages and one digest`,
  ).catch((err: Error) => {
    const warnings = (name: keyof typeof side): string =>
      (servers[name]?.logs() ?? '')
        .split('\n')
        .filter((l) => /"level":[456]0/.test(l))
        .slice(-15)
        .join('\n');
    throw new Error(
      `${err.message}: ${JSON.stringify(last)}\ncentral:\n${warnings('central')}\nbackup:\n${warnings('backup')}`,
    );
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-partition-'));
  ip('netns', 'add', side.central.ns);
  ip('netns', 'add', side.backup.ns);
  ip('link', 'add', side.central.veth, 'type', 'veth', 'peer', 'name', side.backup.veth);
  for (const s of Object.values(side)) {
    ip('link', 'set', s.veth, 'netns', s.ns);
    ip('-n', s.ns, 'addr', 'add', `${s.ip}/30`, 'dev', s.veth);
    ip('-n', s.ns, 'link', 'set', s.veth, 'up');
    ip('-n', s.ns, 'link', 'set', 'lo', 'up');
  }
  for (const name of ['central', 'backup'] as const) {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(file(name), 'server:\n  dataDir: .\n');
    // Each trusts the other's certificate: both exist before either starts.
    mkdirSync(join(dir, name, 'tls'), { recursive: true, mode: 0o700 });
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
        '-addext',
        `subjectAltName=IP:${side[name].ip}`,
        '-keyout',
        join(dir, name, 'tls', 'key.pem'),
        '-out',
        join(dir, name, 'tls', 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
  }
  const added = await runCli(
    ['--config', file('central'), ...sets('central').flatMap((s) => ['--set', s])].concat([
      'mailbox',
      'add',
      'alice',
      '--extension',
      '201',
    ]),
    { input: '1234\n' },
  );
  expect(added.code, added.stderr).toBe(0);
  // Her greeting (replicated to the backup) is what callers hear before the beep.
  wav(dir, 1, 'greeting.wav');
  const greeting = join(dir, 'greeting.wav');
  const greeted = await cli('central', 'greeting', 'set', 'alice', 'unavailable', greeting);
  expect(greeted.code, greeted.stderr).toBe(0);
  const [central, backup] = await Promise.all(
    (['central', 'backup'] as const).map((name) =>
      serveProcess(file(name), sets(name), { netns: side[name].ns }),
    ),
  );
  servers.central = central;
  servers.backup = backup;
}, 60_000);

afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s.stop()));
  for (const s of Object.values(side)) {
    try {
      ip('netns', 'del', s.ns);
    } catch {
      // never made
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('a partition between the central and its backup', () => {
  it('both take messages while cut apart, and end with the same messages, digest and lamps', async () => {
    // In step before: a message on the central reaches the backup.
    await callers('central', 1);
    await sameDigest(1, 30_000);
    expect(failoverState()).toBe('standby');

    ip('-n', side.central.ns, 'link', 'set', side.central.veth, 'down');
    const cut = Date.now();
    await until(() => failoverState() === 'live', 15_000, 'the backup live');
    // Callers on both sides while the link is down: each side stores its own.
    await Promise.all([callers('central', 2), callers('backup', 2)]);
    const [c, b] = [await digest('central'), await digest('backup')];
    expect([c.messages, b.messages]).toEqual([3, 3]);
    expect(c.digest).not.toBe(b.digest);
    await new Promise((r) => setTimeout(r, Math.max(0, PARTITION_MS - (Date.now() - cut))));

    ip('-n', side.central.ns, 'link', 'set', side.central.veth, 'up');
    const healed = await sameDigest(5, 40_000);
    // Lamps: each side counts the five messages as waiting for alice.
    const lamps = async (name: keyof typeof side) =>
      (await digest(name)).mailboxes.find((m) => m.name === 'alice');
    expect(await lamps('central')).toEqual({ name: 'alice', messages: 5, new: 5 });
    expect(await lamps('backup')).toEqual({ name: 'alice', messages: 5, new: 5 });
    expect(healed.messages).toBe(5);
    // The backup handed back (automatic failback) once the link was up.
    await until(() => failoverState() === 'standby', 20_000, 'the backup in standby');
  }, 150_000);
});
