import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../../server/domain/audit.ts';
import { FailoverFiles } from '../../server/peers/failover-file.ts';
import type { TopologyStatus } from '../../server/peers/topology-status.ts';
import type { RunningServer } from '../../server/server.ts';
import { runCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/free-port.ts';
import { until } from '../mail/mail-helpers.ts';
import { nodeSets, peer, startNode } from './peers-kit.ts';

/**
 * A backup with a witness (`topology.failover.witness`) shows the witness's view of the
 * central, and what it sends for it, in `voicegate topology status` and `/api/admin/topology`.
 * Its central is never there (nothing listens on its ports), so the backup goes live.
 */
let dir: string;
let witness: Server;
let witnessUrl: string;
let witnessStatus = 200;
let backup: RunningServer;
let sets: string[];
let cookie: string;

const cli = (...args: string[]) =>
  runCli([
    '--config',
    join(dir, 'backup', 'voicegate.yaml'),
    ...nodeSets(sets).flatMap((s) => ['--set', s]),
    ...args,
  ]);

const statusByCli = async (): Promise<TopologyStatus> =>
  JSON.parse((await cli('topology', 'status', '--json')).stdout) as TopologyStatus;

const statusByApi = async (): Promise<TopologyStatus> =>
  (
    await backup.http.inject({
      method: 'GET',
      url: '/api/admin/topology',
      headers: { cookie: `vg_session=${cookie}` },
    })
  ).json() as TopologyStatus;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-witness-status-'));
  witness = createServer((_req, res) => {
    res.statusCode = witnessStatus;
    res.end();
  });
  await new Promise<void>((r) => witness.listen(0, '127.0.0.1', r));
  witnessUrl = `http://127.0.0.1:${(witness.address() as { port: number }).port}/central-up`;
  const [smtp, https] = [await freePort(), await freePort()];
  sets = [
    'server.name=backup',
    'server.role=backup',
    'topology.failover.intervalSeconds=1',
    'topology.failover.missedBeats=2',
    'topology.failover.failback=manual',
    `topology.failover.witness=${witnessUrl}`,
    `topology.central=${peer({
      name: 'central',
      smtp: `127.0.0.1:${smtp}`,
      https: `http://127.0.0.1:${https}`,
    })}`,
  ];
  backup = await startNode(join(dir, 'backup'), sets);
  await backup.context.admins.add('root', 'a long admin password', CLI_ACTOR);
  const login = await backup.http.inject({
    method: 'POST',
    url: '/api/admin/login',
    payload: { name: 'root', password: 'a long admin password' },
  });
  cookie = login.cookies.find((c) => c.name === 'vg_session')!.value;
}, 60_000);

afterAll(async () => {
  await backup?.close();
  await new Promise<void>((r) => witness.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

describe('the witness in topology status', () => {
  it('shows what the witness sees of the central and what the backup sends for it', async () => {
    // Live: the central is gone from here, but the witness reaches it (a partition): hold.
    await until(
      () => new FailoverFiles(join(dir, 'backup')).load()?.state === 'live',
      15_000,
      'the backup live',
    );
    const held = { url: witnessUrl, view: 'central-up', lamps: false, email: false };
    expect((await statusByCli()).failover).toMatchObject({ live: true, witness: held });
    await until(
      async () => (await statusByApi()).failover?.witness?.view === 'central-up',
      10_000,
      'the running server probed the witness',
    );
    expect((await statusByApi()).failover).toMatchObject({ live: true, witness: held });
    const text = (await cli('topology', 'status')).stdout;
    expect(text).toContain(
      `witness ${witnessUrl}: the central is up; this backup holds lamps and e-mail`,
    );

    // The witness loses the central too: the backup sends.
    witnessStatus = 503;
    const sends = { url: witnessUrl, view: 'central-down', lamps: true, email: true };
    expect((await statusByCli()).failover).toMatchObject({ witness: sends });
    await until(
      async () => (await statusByApi()).failover?.witness?.view === 'central-down',
      10_000,
      'the running server saw the witness change',
    );
    expect((await statusByApi()).failover).toMatchObject({ witness: sends });
    expect((await cli('topology', 'status')).stdout).toContain(
      'the central is down; this backup sends lamps and e-mail',
    );
  });

  it('shows no witness on a backup that has none', async () => {
    const r = await runCli([
      '--config',
      join(dir, 'backup', 'voicegate.yaml'),
      ...nodeSets(
        sets.map((s) =>
          s.startsWith('topology.failover.witness=') ? 'topology.failover.witness=' : s,
        ),
      ).flatMap((s) => ['--set', s]),
      'topology',
      'status',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const status = JSON.parse(r.stdout) as TopologyStatus;
    expect(status.failover).toMatchObject({ witness: null });
  });
});
