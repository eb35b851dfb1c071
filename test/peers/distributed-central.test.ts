import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/server.ts';
import { freePort } from '../helpers/free-port.ts';
import { until, wav } from '../mail/mail-helpers.ts';
import type { TopologyStatus } from '../../server/peers/topology-status.ts';
import { runCli } from '../helpers/cli.ts';
import { nodeSets, peer, startNode } from './peers-kit.ts';

/**
 * A distributed server and its central on loopback, each with its own data folder: every
 * message recorded on the distributed server reaches the central once, in the order recorded,
 * even when the central was down meanwhile; only then is the local copy released.
 */
let dir: string;
let smtpPort: number;
let central: RunningServer | null = null;
let site: RunningServer;
let audio: Buffer;
let siteSets: string[];

/** `voicegate topology status --json` on the distributed server, as an administrator runs it. */
async function status(): Promise<TopologyStatus> {
  const sets = nodeSets(siteSets).flatMap((s) => ['--set', s]);
  const file = join(dir, 'site1', 'voicegate.yaml');
  const r = await runCli(['--config', file, ...sets, 'topology', 'status', '--json']);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as TopologyStatus;
}

const startCentral = async (): Promise<RunningServer> =>
  startNode(join(dir, 'central'), [
    'server.name=central',
    'server.role=central',
    `smtp.port=${smtpPort}`,
    `topology.distributed=[${peer({ name: 'site1', smtp: '127.0.0.1:9' })}]`,
  ]);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-distributed-'));
  smtpPort = await freePort();
  central = await startCentral();
  await central.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  siteSets = [
    'server.name=site1',
    'server.role=distributed',
    'topology.retrySeconds=1',
    `topology.central=${peer({
      name: 'central',
      smtp: `127.0.0.1:${smtpPort}`,
      caFile: join(dir, 'central', 'tls', 'cert.pem'),
    })}`,
  ];
  site = await startNode(join(dir, 'site1'), siteSets);
  // The mailboxes the site records for (from the central, once replication exists).
  await site.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  await site.context.mailboxes.add({ name: 'bob', extension: '202' }, '1234');
  audio = wav(dir, 1);
}, 60_000);

afterAll(async () => {
  await site?.close();
  await central?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function atCentral(): Promise<{ caller: string | null; identity: string; origin: string }[]> {
  const alice = await central!.context.store.findMailbox('alice');
  const messages = await central!.context.store.listMessages(alice!.id);
  return messages
    .sort((a, b) => a.uid - b.uid)
    .map((m) => ({ caller: m.callerNumber, identity: m.identity, origin: m.originServer }));
}

const queued = async (): Promise<number> => (await site.context.deliveries.list()).length;

const record = (caller: string): Promise<unknown> =>
  site.context.messages.deposit({ mailbox: '201', audio, callerNumber: caller });

describe('a distributed server and its central', () => {
  it('forwards a message to the central and keeps no copy', async () => {
    await record('1000');
    const [m] = await until(async () => (await atCentral()).length === 1 && atCentral(), 15_000);
    expect(m).toMatchObject({ caller: '1000', origin: 'site1' });
    expect(m!.identity).toMatch(/@site1$/);
    await until(async () => (await queued()) === 0, 5000, 'the local copy released');
    const alice = await site.context.store.findMailbox('alice');
    expect(await site.context.store.listMessages(alice!.id)).toEqual([]);
  });

  it('keeps messages while the central is down, then delivers each once, in order', async () => {
    await central!.close();
    central = null;
    const callers = ['2001', '2002', '2003', '2004', '2005'];
    for (const caller of callers) await record(caller);
    // Each is tried and waits: the central does not answer.
    await until(
      async () => (await site.context.deliveries.list()).some((d) => d.attempts > 0),
      15_000,
      'a failed attempt',
    );
    expect(await queued()).toBe(5);
    const down = await status();
    expect(down.self).toEqual({ name: 'site1', role: 'distributed' });
    expect(down.peers).toEqual([
      expect.objectContaining({
        name: 'central',
        role: 'central',
        smtpLive: false,
        httpsLive: null,
        problem: 'SMTP: ECONNREFUSED',
        queued: 5,
        failed: 0,
      }),
    ]);
    central = await startCentral();
    const all = await until(async () => {
      const got = await atCentral();
      return got.length === 6 && got;
    }, 30_000);
    expect(all.map((m) => m.caller)).toEqual(['1000', ...callers]);
    expect(new Set(all.map((m) => m.identity)).size).toBe(6);
    await until(async () => (await queued()) === 0, 5000, 'every local copy released');
    expect((await status()).peers[0]).toMatchObject({ smtpLive: true, queued: 0 });
    expect(
      readdirSync(join(dir, 'site1', 'audio'), { recursive: true }).filter((f) =>
        String(f).endsWith('.wav'),
      ),
    ).toEqual([]);
  }, 60_000);

  it('keeps a message the central refuses for good in the mailbox here', async () => {
    await site.context.messages.deposit({ mailbox: '202', audio, callerNumber: '3000' });
    const bob = await site.context.store.findMailbox('bob');
    const [kept] = await until(
      async () =>
        (await site.context.store.listMessages(bob!.id)).length === 1 &&
        site.context.store.listMessages(bob!.id),
      15_000,
      'kept locally',
    );
    expect(kept).toMatchObject({ callerNumber: '3000' });
    const [failed] = await site.context.deliveries.list();
    expect(failed).toMatchObject({ status: 'failed', target: 'peer' });
    expect(failed!.lastError).toMatch(/550 no mailbox named or numbered "bob"/);
  });
});
