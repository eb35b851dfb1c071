import type { Command } from 'commander';
import { peerSetOf, replicaPeersOf, replicaReceiverOf } from '../../compose/peers.ts';
import { VoicegateError } from '../../domain/errors.ts';
import { messageDigest } from '../../domain/message-digest.ts';
import { FailoverFiles } from '../../peers/failover-file.ts';
import type { SavedFailover } from '../../peers/failover-watcher.ts';
import { receivingStatus, replicationText, sendingStatus } from '../../peers/replication-status.ts';
import { failoverView, topologyStatus, type WitnessStatus } from '../../peers/topology-status.ts';
import { probeWitness } from '../../peers/witness.ts';
import { print, printJson, printTable, withContext } from '../common.ts';

const time = (ms: number | null): string =>
  ms === null ? '' : new Date(ms).toISOString().slice(0, 19) + 'Z';

/** How long status waits for the witness, as for each peer. */
const WITNESS_TIMEOUT_MS = 3000;

const WITNESS_SAYS: Record<WitnessStatus['view'], string> = {
  none: 'none',
  'central-up': 'the central is up',
  'central-down': 'the central is down',
  unreachable: 'no answer that tells of the central',
};

/** The witness line of `topology status`: what it sees, and what this backup sends for it. */
function witnessText(w: WitnessStatus): string {
  const sends =
    w.lamps && w.email
      ? 'sends lamps and e-mail'
      : w.email
        ? 'sends e-mail, no lamps'
        : 'holds lamps and e-mail';
  return `witness ${w.url}: ${WITNESS_SAYS[w.view]}; this backup ${sends}`;
}

/** A backup that never saved a state has never left standby. */
const STANDBY: SavedFailover = {
  state: 'standby',
  missed: 0,
  changedAt: 0,
  lastBeatAt: null,
  liveSince: null,
  returnedAt: null,
  handedBackUntil: null,
  handBackDue: false,
};

export function registerTopology(program: Command): void {
  const topology = program
    .command('topology')
    .description('the other servers of the network (server.role central, backup, distributed)');

  topology
    .command('status')
    .description('each peer: its role, whether it answers now, the sync mail waiting for it')
    .option('--json', 'as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const peers = peerSetOf(ctx.loaded);
        const role = ctx.loaded.config.server.role;
        if (!peers)
          throw new VoicegateError(
            'INVALID_STATE',
            'this server is standalone: set server.role and topology to join a network',
          );
        const saved = role === 'backup' ? new FailoverFiles(ctx.loaded.dataDir).load() : null;
        const replication = await sendingStatus(replicaPeersOf(ctx.loaded, peers), ctx.replica);
        const receiver = replicaReceiverOf(ctx.loaded, ctx.replica);
        const central = peers.central();
        if (receiver && central)
          replication.set(central.name, await receivingStatus(central.name, receiver));
        // The running server's view of its witness lives in its memory: look now, as it does.
        const url = ctx.loaded.config.topology.failover.witness;
        const witness =
          role === 'backup' && url
            ? { url, view: await probeWitness(url, WITNESS_TIMEOUT_MS) }
            : undefined;
        const status = await topologyStatus(peers, role, await ctx.deliveries.list(), {
          replication,
          failover: role === 'backup' ? failoverView(saved ?? STANDBY, undefined, witness) : null,
        });
        if (o.json) return printJson(status);
        print(`${status.self.name} (${role})`);
        const f = status.failover;
        if (f)
          print(
            `failover: ${f.state}${f.live ? ' (live: serving as the central)' : ''}, last heartbeat ${time(f.lastBeatAt) || 'never'}, ${f.missed} missed`,
          );
        if (f?.witness) print(witnessText(f.witness));
        printTable(
          [
            'PEER',
            'ROLE',
            'SMTP',
            'LIVE',
            'QUEUED TO IT',
            'FAILED',
            'OLDEST QUEUED',
            'REPLICATION',
            'PROBLEM',
          ],
          status.peers.map((p) => [
            p.name,
            p.role,
            p.smtp,
            p.smtpLive && p.httpsLive !== false ? 'yes' : 'no',
            String(p.queued),
            String(p.failed),
            time(p.oldestQueuedAt),
            replicationText(p.replication),
            p.problem ?? '',
          ]),
        );
      });
    });

  topology
    .command('digest')
    .description(
      'the messages held here as one digest (mailbox, identity, state), to compare with a peer after a partition',
    )
    .option('--json', 'as JSON, with the count per mailbox')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const d = await messageDigest(ctx.store);
        if (o.json) return printJson(d);
        print(`${d.digest}  ${d.messages} messages`);
        printTable(
          ['MAILBOX', 'MESSAGES', 'NEW'],
          d.mailboxes.map((m) => [m.name, String(m.messages), String(m.new)]),
        );
      });
    });

  topology
    .command('failback')
    .description(
      'on a backup: hand control back to the central once it answers again (taken by the running server at its next heartbeat)',
    )
    .action(async (_o: unknown, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        if (ctx.loaded.config.server.role !== 'backup')
          throw new VoicegateError('INVALID_STATE', 'only a backup server hands control back');
        const files = new FailoverFiles(ctx.loaded.dataDir);
        const state = files.load()?.state ?? 'standby';
        files.requestFailback();
        print(
          state === 'returning'
            ? 'failback asked: the server hands back at its next heartbeat'
            : `failback asked; the server is ${state}: it hands back once the central answers again (state "returning")`,
        );
      });
    });
}
