import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSelfSignedCert } from '../../server/config/tls-cert.ts';
import { CLI_ACTOR } from '../../server/domain/audit.ts';
import { FailoverFiles } from '../../server/peers/failover-file.ts';
import type { TopologyStatus } from '../../server/peers/topology-status.ts';
import type { RunningServer } from '../../server/server.ts';
import { freePort } from '../helpers/free-port.ts';
import { until } from '../mail/mail-helpers.ts';
import { peer, startNode } from './peers-kit.ts';

/**
 * The SMTP link as the backup's second sign of life: the backup's HTTPS path to its central is
 * broken (its entry points at a port nobody listens on) while the central's signed mail pings
 * reach it over SMTP with TLS. The backup must not fail over a central that serves; it says so
 * (status, alarm). When the central really stops, the pings stop too and the backup takes over.
 */
let dir: string;
let central: RunningServer | null = null;
let backup: RunningServer;
const at = (name: string): string => join(dir, name);
const cert = (name: string): string => join(at(name), 'tls', 'cert.pem');
const saved = () => new FailoverFiles(at('backup')).load();

async function adminTopology(): Promise<TopologyStatus> {
  const login = await backup.http.inject({
    method: 'POST',
    url: '/api/admin/login',
    payload: { name: 'root', password: 'a long admin password' },
  });
  const cookie = login.cookies.find((c) => c.name === 'vg_session')!.value;
  const reply = await backup.http.inject({
    method: 'GET',
    url: '/api/admin/topology',
    headers: { cookie: `vg_session=${cookie}` },
  });
  return reply.json() as TopologyStatus;
}

const TOKEN = 'metrics-token-of-the-backup';

/** Whether an alarm of `kind` is active on the backup, as /metrics shows it. */
async function alarm(kind: string): Promise<number> {
  const reply = await backup.http.inject({
    method: 'GET',
    url: '/metrics',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  const line = new RegExp(`^voicegate_alarm_active\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(
    reply.body,
  );
  if (!line) throw new Error(`no alarm line for ${kind} in /metrics: ${reply.body.slice(0, 300)}`);
  return Number(line[1]);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-mail-ping-'));
  const [centralSmtp, backupSmtp, nobody] = [await freePort(), await freePort(), await freePort()];
  // Each server's certificate exists before either starts: each trusts the other's.
  for (const n of ['central', 'backup'])
    await ensureSelfSignedCert(cert(n), join(at(n), 'tls', 'key.pem'), 'localhost');
  central = await startNode(at('central'), [
    'server.name=central',
    'server.role=central',
    `smtp.port=${centralSmtp}`,
    'topology.failover.mailPingSeconds=1',
    `topology.backup=${peer({ name: 'backup', smtp: `127.0.0.1:${backupSmtp}`, caFile: cert('backup') })}`,
  ]);
  backup = await startNode(at('backup'), [
    'server.name=backup',
    'server.role=backup',
    `smtp.port=${backupSmtp}`,
    'topology.failover.intervalSeconds=1',
    'topology.failover.missedBeats=2',
    'topology.failover.mailPingSeconds=1',
    'metrics.enabled=true',
    `metrics.token=${TOKEN}`,
    `topology.central=${peer({
      name: 'central',
      smtp: `127.0.0.1:${centralSmtp}`,
      // The HTTPS path is broken: nothing listens there.
      https: `http://127.0.0.1:${nobody}`,
      caFile: cert('central'),
    })}`,
  ]);
  await backup.context.admins.add('root', 'a long admin password', CLI_ACTOR);
}, 60_000);

afterAll(async () => {
  await backup?.close();
  await central?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the SMTP link as a second sign of life', () => {
  it('a central alive by mail only is not failed over; the backup says why', async () => {
    const view = await until(
      async () => {
        const f = (await adminTopology()).failover;
        return f?.mailOnly && f.missed >= 4 ? f : null;
      },
      30_000,
      'the backup sees the central by mail only, four beats missed',
    );
    // Four heartbeats missed, twice the configured two: mail kept it in standby.
    expect(view).toMatchObject({ state: 'standby', live: false, mailOnly: true });
    expect(view.problem).toMatch(/ECONNREFUSED/);
    expect(Date.now() - view.lastMailPingAt!).toBeLessThan(10_000);
    expect(saved()?.state).toBe('standby');
    // The alarm an administrator hears about.
    expect(await alarm('peer-unreachable')).toBe(1);
    expect(await alarm('peer-down')).toBe(0);
  });

  it('the central stopped: the pings stop too and the backup takes over', async () => {
    const stopped = Date.now();
    await central!.close();
    central = null;
    await until(() => saved()?.state === 'live', 30_000, 'the backup live');
    const took = Date.now() - stopped;
    // Two intervals of pings to go stale, then a missed beat finds the count reached.
    expect(took).toBeLessThan(15_000);
    const f = (await adminTopology()).failover;
    expect(f).toMatchObject({ state: 'live', live: true, mailOnly: false });
    expect(await alarm('peer-unreachable')).toBe(0);
    expect(await alarm('peer-down')).toBe(1);
  });
});
