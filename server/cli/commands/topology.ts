import type { Command } from 'commander';
import { peerSetOf, replicaPeersOf, replicaReceiverOf } from '../../compose/peers.ts';
import { VoicegateError } from '../../domain/errors.ts';
import { receivingStatus, replicationText, sendingStatus } from '../../peers/replication-status.ts';
import { topologyStatus } from '../../peers/topology-status.ts';
import { print, printJson, printTable, withContext } from '../common.ts';

const time = (ms: number | null): string =>
  ms === null ? '' : new Date(ms).toISOString().slice(0, 19) + 'Z';

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
        const replication = await sendingStatus(replicaPeersOf(ctx.loaded, peers), ctx.replica);
        const receiver = replicaReceiverOf(ctx.loaded, ctx.replica);
        const central = peers.central();
        if (receiver && central)
          replication.set(central.name, await receivingStatus(central.name, receiver));
        const status = await topologyStatus(peers, role, await ctx.deliveries.list(), {
          replication,
        });
        if (o.json) return printJson(status);
        print(`${status.self.name} (${role})`);
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
}
