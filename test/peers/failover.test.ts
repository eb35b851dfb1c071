import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../../server/domain/audit.ts';
import { MESSAGE_STATES } from '../../server/domain/message-state.ts';
import { FailoverFiles } from '../../server/peers/failover-file.ts';
import { askBeat } from '../../server/peers/heartbeat.ts';
import type { Peer } from '../../server/peers/peer-set.ts';
import type { TopologyStatus } from '../../server/peers/topology-status.ts';
import type { RunningServer } from '../../server/server.ts';
import { runCli } from '../helpers/cli.ts';
import { Kamailio } from '../helpers/kamailio.ts';
import { runSipp } from '../helpers/sipp.ts';
import { freePort } from '../helpers/free-port.ts';
import { until, wav } from '../mail/mail-helpers.ts';
import { nodeSets, peer, SECRET, startNode } from './peers-kit.ts';

/**
 * A central and its backup on loopback, each with its own data folder: the backup watches the
 * central's signed heartbeat; in standby what it records goes to the central; the central
 * stopped, it becomes live and keeps what it records; the central back, an administrator's
 * `voicegate topology failback` hands back: what the backup recorded reaches the central once,
 * and only then is the backup in standby again.
 */
let dir: string;
let smtpPort: number;
let httpPort: number;
let sipPort: number;
let pbx: Kamailio | undefined;
let central: RunningServer | null = null;
let backup: RunningServer;
let audio: Buffer;
let backupSets: string[];

const startCentral = async (): Promise<RunningServer> => {
  const node = await startNode(join(dir, 'central'), [
    'server.name=central',
    'server.role=central',
    `smtp.port=${smtpPort}`,
    `http.port=${httpPort}`,
    `sip.port=${sipPort}`,
    `topology.backup=${peer({ name: 'backup', smtp: '127.0.0.1:9' })}`,
  ]);
  if (!(await node.context.store.findMailbox('alice')))
    await node.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  return node;
};

const saved = () => new FailoverFiles(join(dir, 'backup')).load();
const state = (): string => saved()?.state ?? 'standby';

/** The backup's command line, as an administrator runs it there. */
const cli = (...args: string[]) =>
  runCli([
    '--config',
    join(dir, 'backup', 'voicegate.yaml'),
    ...nodeSets(backupSets).flatMap((s) => ['--set', s]),
    ...args,
  ]);

async function atCentral(): Promise<{ caller: string | null; origin: string }[]> {
  const alice = await central!.context.store.findMailbox('alice');
  return (await central!.context.store.listMessages(alice!.id))
    .sort((a, b) => a.receivedAt - b.receivedAt)
    .map((m) => ({ caller: m.callerNumber, origin: m.originServer }));
}

/** Each of alice's messages at `node`, deleted ones too: caller and state. */
async function statesAt(node: RunningServer): Promise<Record<string, string>> {
  const alice = await node.context.store.findMailbox('alice');
  const all = await node.context.store.listMessages(alice!.id, { states: MESSAGE_STATES });
  return Object.fromEntries(all.map((m) => [m.callerNumber, m.state]));
}

const SCENARIO = fileURLToPath(new URL('scenarios/routed-call.xml', import.meta.url));

/** One call to mailbox 201 through the PBX; resolves with where the dispatcher sent it. */
async function callThroughPbx(): Promise<string> {
  const before = pbx!.dispatched.length;
  const run = await runSipp(SCENARIO, `127.0.0.1:${pbx!.port}`, {
    service: '201',
    timeoutSeconds: 15,
  });
  expect(run.code, `${run.log}\n${pbx!.log.slice(-3000)}`).toBe(0);
  return (
    pbx!.dispatched
      .at(-1)!
      .replace(/^sip:127\.0\.0\.1:/, '')
      .split(/[;>]/)[0]! + (pbx!.dispatched.length - before > 1 ? ' (after a retry)' : '')
  );
}

const record = (caller: string): Promise<unknown> =>
  backup.context.messages.deposit({ mailbox: '201', audio, callerNumber: caller });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-failover-'));
  [smtpPort, httpPort, sipPort] = [await freePort(), await freePort(), await freePort()];
  central = await startCentral();
  backupSets = [
    'server.name=backup',
    'server.role=backup',
    'topology.retrySeconds=1',
    'topology.failover.intervalSeconds=1',
    'topology.failover.missedBeats=2',
    'topology.failover.failback=manual',
    `topology.central=${peer({
      name: 'central',
      smtp: `127.0.0.1:${smtpPort}`,
      https: `http://127.0.0.1:${httpPort}`,
      caFile: join(dir, 'central', 'tls', 'cert.pem'),
    })}`,
  ];
  backup = await startNode(join(dir, 'backup'), backupSets);
  await backup.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  audio = wav(dir, 1);
}, 60_000);

afterAll(async () => {
  await pbx?.stop();
  await backup?.close();
  await central?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a backup and its central', () => {
  it('in standby forwards what it records to the central', async () => {
    await until(() => saved()?.lastBeatAt, 15_000, 'a heartbeat answered');
    await record('1000');
    expect(
      await until(async () => (await atCentral()).length === 1 && atCentral(), 15_000),
    ).toEqual([{ caller: '1000', origin: 'backup' }]);
    expect(state()).toBe('standby');
  });

  it('takes over when the central stops, and hands back on failback, nothing lost or doubled', async () => {
    // The PBX: Kamailio's dispatcher probing both with OPTIONS, the central first.
    pbx = await Kamailio.dispatch([
      `sip:127.0.0.1:${sipPort}`,
      `sip:127.0.0.1:${backup.ports.sip}`,
    ]);
    await until(
      () => pbx!.relayed !== null && callThroughPbx().then((to) => to === String(sipPort)),
      15_000,
      'a call to the central',
    );
    const stopped = Date.now();
    await central!.close();
    central = null;
    // A caller right after: the dispatcher tries the central, then the backup answers.
    const to = await callThroughPbx();
    const answered = Date.now() - stopped;
    expect(to.startsWith(String(backup.ports.sip))).toBe(true);
    await until(() => state() === 'live', 15_000, 'the backup live');
    const took = saved()!.changedAt - stopped;
    console.info(
      `failover: a call answered by the backup ${answered} ms after the central stopped; the backup live after ${took} ms`,
    );
    // Two missed beats a second apart, each waiting at most 0.8 s (and a loaded machine).
    expect(took).toBeLessThan(6000);
    const status = JSON.parse((await cli('topology', 'status', '--json')).stdout) as TopologyStatus;
    expect(status.failover).toMatchObject({ state: 'live', live: true });
    expect(status.peers[0]).toMatchObject({ name: 'central', smtpLive: false, httpsLive: false });
    // The same for an administrator in the admin area, with the heartbeat's problem.
    await backup.context.admins.add('root', 'a long admin password', CLI_ACTOR);
    const login = await backup.http.inject({
      method: 'POST',
      url: '/api/admin/login',
      payload: { name: 'root', password: 'a long admin password' },
    });
    const cookie = login.cookies.find((c) => c.name === 'vg_session')!.value;
    const api = (
      await backup.http.inject({
        method: 'GET',
        url: '/api/admin/topology',
        headers: { cookie: `vg_session=${cookie}` },
      })
    ).json() as TopologyStatus;
    expect(api.self).toEqual({ name: 'backup', role: 'backup' });
    expect(api.failover).toMatchObject({
      state: 'live',
      live: true,
      problem: 'heartbeat: ECONNREFUSED',
    });
    expect(api.failover!.lastBeatAt).toBeLessThan(stopped + 1000);

    // Live, it keeps what it records (the central cannot take it).
    await record('2000');
    const alice = await backup.context.store.findMailbox('alice');
    expect((await backup.context.store.listMessages(alice!.id)).map((m) => m.callerNumber)).toEqual(
      ['2000'],
    );

    // Live, alice listens to it, and deletes one more: these changes go back too.
    const played = (await backup.context.messages.list(alice!.id))[0]!;
    await backup.context.messages.act(alice!.id, played.id, 'play');
    await record('2001');
    const doomed = (await backup.context.messages.list(alice!.id)).find(
      (m) => m.callerNumber === '2001',
    )!;
    await backup.context.messages.act(alice!.id, doomed.id, 'delete');
    expect(await statesAt(backup)).toEqual({ '2000': 'old', '2001': 'deleted' });

    central = await startCentral();
    await until(() => state() === 'returning', 15_000, 'the central seen again');
    // Manual: it stays live until an administrator asks, beat after beat.
    const seen = saved()!.lastBeatAt!;
    await until(() => saved()!.lastBeatAt! > seen + 1500, 15_000, 'two more heartbeats');
    expect(state()).toBe('returning');
    const asked = await cli('topology', 'failback');
    expect(asked.stderr).toBe('');
    expect(asked.stdout).toContain('hands back at its next heartbeat');
    await until(() => state() === 'standby', 20_000, 'handed back');
    // Caught up before standby: the central has the messages, once each...
    expect(await atCentral()).toEqual([
      { caller: '1000', origin: 'backup' },
      { caller: '2000', origin: 'backup' },
      { caller: '2001', origin: 'backup' },
    ]);
    // ...in the states the backup left them in: played, deleted (in the trash), and the lamp
    // counts only what is still waiting.
    expect(await statesAt(central)).toEqual({ '1000': 'new', '2000': 'old', '2001': 'deleted' });
    const aliceThere = await central.context.store.findMailbox('alice');
    expect(await central.context.messages.lamp(aliceThere!.id)).toMatchObject({ waiting: 1 });
    // The backup keeps its copy for the record; the queue to the central is empty.
    expect((await backup.context.deliveries.list()).filter((d) => d.target === 'peer')).toEqual([]);
    const trail = await backup.context.store.queryAudit({ kind: 'failover', limit: 20 });
    expect(trail.map((r) => r.details?.to).reverse()).toEqual([
      'suspect',
      'live',
      'returning',
      'handing-back',
      'standby',
    ]);
  }, 60_000);

  it('a heartbeat counts only when the central signed it for this question', async () => {
    const centralPeer: Peer = {
      name: 'central',
      role: 'central',
      host: '127.0.0.1',
      port: smtpPort,
      domain: 'localhost',
      https: `http://127.0.0.1:${httpPort}`,
      secret: SECRET,
      plainText: false,
      ca: '',
    };
    expect(await askBeat(centralPeer, 'backup', 3000)).toEqual({ ok: true, queued: 0 });
    // The real central, asked with another secret: not its answer.
    expect(
      await askBeat({ ...centralPeer, secret: 'another-secret-0123456789' }, 'backup', 3000),
    ).toEqual({
      ok: false,
      problem: 'the heartbeat signature does not match (wrong secret, or not the peer)',
    });
    // Someone else asking: refused.
    expect(await askBeat(centralPeer, 'stranger', 3000)).toEqual({
      ok: false,
      problem: 'the heartbeat answered 403',
    });
    // An impostor replaying an answer the central once gave.
    const impostor = createServer((_req, res) =>
      res
        .writeHead(200, {
          'content-type': 'application/json',
          'x-voicegate-signature': `v1=${'ab'.repeat(32)}`,
        })
        .end(
          JSON.stringify({
            peer: 'central',
            asker: 'backup',
            nonce: '0'.repeat(32),
            at: Date.now(),
            queued: 0,
          }),
        ),
    );
    await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', () => r()));
    const port = (impostor.address() as { port: number }).port;
    const forged = await askBeat(
      { ...centralPeer, https: `http://127.0.0.1:${port}` },
      'backup',
      3000,
    );
    impostor.close();
    expect(forged).toEqual({
      ok: false,
      problem: 'the heartbeat signature does not match (wrong secret, or not the peer)',
    });
  });
});
