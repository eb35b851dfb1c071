import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailboxChoice } from '../../server/domain/mailbox-choice.ts';
import { loadConfig } from '../../server/config/load.ts';
import { ensureSelfSignedCert } from '../../server/config/tls-cert.ts';
import { createContext } from '../../server/context.ts';
import { createLogger } from '../../server/log.ts';
import { newNonce, signSync, type SignedFacts } from '../../server/domain/peer-trust.ts';
import type { ReplicaChange, ReplicaPosition } from '../../server/domain/replica.ts';
import { flowsFileAt } from '../../server/peers/replica-files.ts';
import type { SentRecord } from '../../server/peers/replicator.ts';
import { replicaBody, signedBody, syncMail } from '../../server/peers/sync-mail.ts';
import type { RunningServer } from '../../server/server.ts';
import { freePort } from '../helpers/free-port.ts';
import { until, wav } from '../mail/mail-helpers.ts';
import { runCli } from '../helpers/cli.ts';
import type { TopologyStatus } from '../../server/peers/topology-status.ts';
import { nodeSets, peer, startNode } from './peers-kit.ts';

/**
 * A central keeps its backup and a distributed server in step over signed sync mail on
 * loopback: a snapshot, then changes in order; a snapshot interrupted by the backup stopping
 * resumes where it was; both sides end with the same digest; forged changes are refused.
 */
let dir: string;
const ports = { central: 0, backup: 0, site1: 0 };
let central: RunningServer;
let backup: RunningServer | null = null;
let site1: RunningServer | null = null;
const KINDS_ALL = ['mailbox', 'members', 'greeting', 'flows'] as const;
const GREETINGS = ['unavailable', 'busy', 'name'] as const;

const at = (name: string): string => join(dir, name);
const cert = (name: string): string => join(at(name), 'tls', 'cert.pem');
const readJson = <T>(path: string): T | null => {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
};
const position = (node: string): ReplicaPosition | null =>
  readJson(join(at(node), 'replication', 'from-central.json'));
const sent = (peerName: string): SentRecord | null =>
  readJson(join(at('central'), 'replication', `to-${peerName}.json`));

const receiverSets = (name: string, role: string): string[] => [
  `server.name=${name}`,
  `server.role=${role}`,
  `smtp.port=${ports[name as keyof typeof ports]}`,
  `topology.central=${peer({ name: 'central', smtp: `127.0.0.1:${ports.central}`, caFile: cert('central') })}`,
];
const centralSets = (): string[] => [
  'server.name=central',
  'server.role=central',
  `smtp.port=${ports.central}`,
  'topology.retrySeconds=1',
  'topology.syncMessages=true',
  // One greeting per mail: the snapshot takes many mails.
  'topology.replicationChunkKB=16',
  `topology.backup=${peer({ name: 'backup', smtp: `127.0.0.1:${ports.backup}`, caFile: cert('backup') })}`,
  `topology.distributed=[${peer({
    name: 'site1',
    smtp: `127.0.0.1:${ports.site1}`,
    caFile: cert('site1'),
    flowsFile: 'site1-flows.yaml',
    // The site's mailboxes: a name, and a pattern (the hunt group).
    mailboxes: ['user0', 'sal*'],
  })}]`,
];
const startBackup = (): Promise<RunningServer> =>
  startNode(at('backup'), receiverSets('backup', 'backup'));

/** The central's digest now of what a peer takes. */
const centralDigest = (
  kinds: readonly string[],
  flows: string,
  only?: (mailbox: string) => boolean,
): Promise<string> =>
  central.context.replica.digest(kinds as never, flowsFileAt(join(at('central'), flows)), only);

/** Until the node applied every change and both sides state the central's current digest. */
async function inStep(
  node: string,
  kinds: readonly string[],
  flows: string,
  only?: (mailbox: string) => boolean,
): Promise<void> {
  await until(
    async () => {
      const want = await centralDigest(kinds, flows, only);
      const p = position(node);
      const s = sent(node);
      return (
        p?.complete === true &&
        p.localDigest === want &&
        s?.digest === want &&
        s.peerDigest === want
      );
    },
    20_000,
    `${node} in step with the central`,
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-replication-'));
  ports.central = await freePort();
  ports.backup = await freePort();
  ports.site1 = await freePort();
  // Each server's certificate exists before any starts: each trusts the other's.
  for (const n of ['central', 'backup', 'site1'])
    await ensureSelfSignedCert(cert(n), join(at(n), 'tls', 'key.pem'), 'localhost');
  writeFileSync(at('central/flows.yaml'), 'flows: {}\n');
  writeFileSync(at('central/site1-flows.yaml'), '# the site\nflows: {}\n');
  central = await startNode(at('central'), centralSets());
  const c = central.context;
  const audio = wav(dir, 1);
  for (let i = 0; i < 5; i++) {
    await c.mailboxes.add({ name: `user${i}`, extension: `20${i}`, fullName: `User ${i}` }, '1234');
    for (const kind of GREETINGS) await c.messages.setGreeting(`user${i}`, kind, audio);
  }
  await c.mailboxes.add({ name: 'sales', kind: 'group', extension: '300' }, '1234');
  await c.mailboxes.setGroupMembers('sales', ['user0', 'user1']);
}, 60_000);

afterAll(async () => {
  await site1?.close();
  await backup?.close();
  await central?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('replication from the central', () => {
  it('resumes a snapshot the backup stopped in the middle of, and ends with the same digest', async () => {
    backup = await startBackup();
    // Stopped as soon as it applied its third change, of about twenty.
    const deadline = Date.now() + 20_000;
    while ((position('backup')?.version ?? 0) < 3 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    await backup.close();
    backup = null;
    const stoppedAt = position('backup')!;
    expect(stoppedAt.complete).toBe(false);

    backup = await startBackup();
    await inStep('backup', KINDS_ALL, 'flows.yaml');
    const p = position('backup')!;
    // The same epoch went on from where it was: no second snapshot.
    expect(p.epoch).toBe(stoppedAt.epoch);
    expect(p.version).toBeGreaterThan(stoppedAt.version);

    const b = backup.context;
    const names = (await b.mailboxes.list()).map((m) => m.name).sort();
    expect(names).toEqual([...Array.from({ length: 5 }, (_, i) => `user${i}`), 'sales'].sort());
    expect((await b.mailboxes.groupMembers('sales')).map((m) => m.name)).toEqual([
      'user0',
      'user1',
    ]);
    expect(await b.messages.greetings('user4')).toHaveLength(3);
    // The code works there as here.
    const ctx = { channel: 'web' as const, remote: '127.0.0.1' };
    await expect(b.mailboxes.authenticate('user3', '1234', ctx)).resolves.toMatchObject({
      name: 'user3',
    });
    expect(readFileSync(at('backup/flows.yaml'), 'utf8')).toBe('flows: {}\n');
  }, 60_000);

  it('sends each later change in order: settings, codes, groups, greetings, removals, flows', async () => {
    const c = central.context;
    await c.mailboxes.update('user1', { fullName: 'Renamed One' });
    await c.mailboxes.setCode('user2', '9876');
    await c.messages.removeGreeting('user3', 'busy');
    await c.mailboxes.remove('user4');
    await c.mailboxes.add({ name: 'carol', extension: '210' }, '5555');
    await c.mailboxes.setGroupMembers('sales', ['user0', 'carol']);
    writeFileSync(at('central/flows.yaml'), 'flows: {}\n# changed\n');
    await inStep('backup', KINDS_ALL, 'flows.yaml');

    const b = backup!.context;
    expect((await b.store.findMailbox('user1'))?.fullName).toBe('Renamed One');
    expect(await b.store.findMailbox('user4')).toBeNull();
    expect((await b.messages.greetings('user3')).map((g) => g.kind).sort()).toEqual([
      'name',
      'unavailable',
    ]);
    expect((await b.mailboxes.groupMembers('sales')).map((m) => m.name).sort()).toEqual([
      'carol',
      'user0',
    ]);
    const ctx = { channel: 'web' as const, remote: '127.0.0.1' };
    await expect(b.mailboxes.authenticate('user2', '9876', ctx)).resolves.toMatchObject({
      name: 'user2',
    });
    expect(readFileSync(at('backup/flows.yaml'), 'utf8')).toBe('flows: {}\n# changed\n');
  }, 60_000);

  it('keeps each message stored on the central on the backup too, once, sending no mail there', async () => {
    const c = central.context;
    await c.mailboxes.update('user0', { email: 'user0@example.com', emailMode: 'copy' });
    const [stored] = await c.messages.deposit({
      mailbox: 'user0',
      audio: wav(dir, 1),
      callerNumber: '5550100',
    });
    // A resend of it (a caller's mail retried) stores and queues nothing more.
    await c.messages.deposit({ mailbox: 'user0', audio: wav(dir, 1), identity: stored!.identity });
    const b = backup!.context;
    const user0 = (await b.store.findMailbox('user0'))!;
    const kept = await until(
      async () => {
        const list = await b.store.listMessages(user0.id);
        return list.length > 0 ? list : null;
      },
      20_000,
      'the message on the backup',
    );
    expect(kept.map((m) => [m.identity, m.callerNumber, m.receivedAt])).toEqual([
      [stored!.identity, '5550100', stored!.receivedAt],
    ]);
    // The central mails the copy (it waits for a mail server there); the backup mails nothing.
    expect((await c.deliveries.list()).map((d) => d.target)).toEqual(['smtp']);
    expect(await b.deliveries.list()).toEqual([]);
  }, 60_000);

  it('sends each state change the central makes to the backup as it happens, a purge included', async () => {
    const c = central.context;
    const b = backup!.context;
    const user1 = (await c.store.findMailbox('user1'))!;
    const [m] = await c.messages.deposit({ mailbox: 'user1', audio: wav(dir, 1) });
    const onBackup = async (): Promise<string | null> => {
      const box = (await b.store.findMailbox('user1'))!;
      const list = await b.store.listMessages(box.id, {
        states: ['new', 'old', 'saved', 'deleted'],
      });
      const copy = list.find((x) => x.identity === m!.identity);
      return copy ? `${copy.state}/${copy.deletedFrom ?? '-'}` : 'gone';
    };
    const reaches = (want: string): Promise<string> =>
      until(async () => ((await onBackup()) === want ? want : null), 20_000, `backup: ${want}`);
    await reaches('new/-');
    await c.messages.act(user1.id, m!.id, 'play');
    await reaches('old/-');
    await c.messages.act(user1.id, m!.id, 'save');
    await reaches('saved/-');
    await c.messages.act(user1.id, m!.id, 'delete');
    await reaches('deleted/saved');
    // The undelete names the delete it undoes: the backup, which applied that delete, undoes it.
    await c.messages.act(user1.id, m!.id, 'undelete');
    await reaches('saved/-');
    expect((await b.messages.lamp((await b.store.findMailbox('user1'))!.id)).waiting).toBe(0);
    await c.messages.actMany(user1.id, [m!.id], 'delete');
    await reaches('deleted/saved');
    await c.messages.purge(user1.id, [m!.id]);
    await reaches('gone');
    // Each went as an update of the peer target, and none is left waiting.
    await until(
      async () => ((await c.deliveries.list()).some((d) => d.target === 'peer') ? null : true),
      20_000,
      'the updates sent',
    );
  }, 60_000);

  it('gives a distributed server its chosen mailboxes, greetings and flows, and only those', async () => {
    // Something of its own that the central does not have goes at the snapshot's end. Made
    // before the site starts: once started, the snapshot may end before a mailbox added then.
    mkdirSync(at('site1'), { recursive: true });
    writeFileSync(at('site1/voicegate.yaml'), 'server:\n  dataDir: .\n');
    const before = await createContext(
      loadConfig(at('site1/voicegate.yaml'), nodeSets(receiverSets('site1', 'distributed'))),
      createLogger('silent'),
    );
    await before.mailboxes.add({ name: 'local-only', extension: '299' }, '1234');
    await before.close();
    site1 = await startNode(at('site1'), receiverSets('site1', 'distributed'));
    await inStep(
      'site1',
      ['mailbox', 'members', 'greeting', 'flows'],
      'site1-flows.yaml',
      mailboxChoice(['user0', 'sal*']),
    );
    const s = site1.context;
    expect(await s.store.findMailbox('local-only')).toBeNull();
    // Only the mailboxes its entry on the central chooses.
    expect((await s.store.listMailboxes()).map((m) => m.name).sort()).toEqual(['sales', 'user0']);
    expect(await s.messages.greetings('user0')).toHaveLength(3);
    expect(readFileSync(at('site1/flows.yaml'), 'utf8')).toBe('# the site\nflows: {}\n');
    expect(position('site1')!.digest).toBe(sent('site1')!.peerDigest);

    // What an administrator sees on the central: both peers in step.
    const sets = nodeSets(centralSets()).flatMap((x) => ['--set', x]);
    const r = await runCli([
      '--config',
      at('central/voicegate.yaml'),
      ...sets,
      'topology',
      'status',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    const status = JSON.parse(r.stdout) as TopologyStatus;
    expect(status.peers.map((p) => [p.name, p.replication?.inStep])).toEqual([
      ['backup', true],
      ['site1', true],
    ]);
  }, 60_000);

  it('refuses a change not signed by the central, and applies nothing of it', async () => {
    const before = position('backup')!;
    const change: ReplicaChange = {
      epoch: before.epoch,
      version: before.version + 1,
      snapshot: false,
      kinds: ['mailbox'],
      ops: [{ op: 'remove', key: 'mailbox/user0' }],
      digest: '0'.repeat(64),
    };
    const { body, contentType } = replicaBody(change, new Map());
    const facts: SignedFacts = {
      peer: 'central',
      to: 'vmsyncslave',
      kind: 'replica',
      messageId: `replica.forged@backup`,
      timestamp: Date.now(),
      nonce: newNonce(),
    };
    const raw = syncMail(
      { ...facts, from: 'vmsyncslave@voicegate.local', toAddress: 'vmsyncslave@voicegate.local' },
      signSync('not-the-secret-shared-with-it', facts, signedBody(body)),
      contentType,
      body,
    );
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: ports.backup,
      requireTLS: true,
      tls: { ca: readFileSync(cert('backup'), 'utf8') },
    });
    try {
      await expect(
        transport.sendMail({
          envelope: { from: 'vmsyncslave@voicegate.local', to: ['vmsyncslave@voicegate.local'] },
          raw,
        }),
      ).rejects.toMatchObject({
        responseCode: 535,
        response: expect.stringMatching(/signature does not match/),
      });
    } finally {
      transport.close();
    }
    expect(position('backup')).toEqual(before);
    expect(await backup!.context.store.findMailbox('user0')).not.toBeNull();
  });
});
