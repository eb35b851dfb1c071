import { DeliveryRunner, workerId } from '../delivery/delivery-runner.ts';
import { SmtpTarget } from '../mail/smtp-target.ts';
import { PeerTarget } from '../peers/peer-target.ts';
import { exchangeTargets } from './exchange-targets.ts';
import type { Part, Wiring } from './part.ts';
import { PeerMailer } from '../peers/peer-mailer.ts';
import { Replicator } from '../peers/replicator.ts';
import { MailPinger } from '../peers/mail-ping.ts';
import { peerSetOf, replicaPeersOf } from './peers.ts';

/**
 * Delivers the queue to its targets (smtp today; ews, graph and peer register here), on the node
 * that runs it. Each target's time limit and concurrency come from `delivery.targets`.
 */
export function buildDeliveryPart(w: Wiring): Part {
  const { config } = w.loaded;
  const { context, log } = w;
  const smtpLimits = config.delivery.targets.smtp;
  let smtp: SmtpTarget | null = null;
  const peers = peerSetOf(w.loaded);
  const peerLimits = config.delivery.targets.peer;
  // Another Voicegate (a distributed server's messages to the central), on a server with peers.
  const peer = peers
    ? new PeerTarget({
        peers,
        audio: context.audio,
        timeoutMs: peerLimits.timeoutSeconds * 1000,
        retryMs: config.topology.retrySeconds * 1000,
      })
    : null;
  let runner: DeliveryRunner | null = null;
  // On the central: the backup and distributed servers kept in step (settings, greetings, flows).
  const replicaPeers = peers ? replicaPeersOf(w.loaded, peers) : [];
  const mailer =
    peers && replicaPeers.length ? new PeerMailer(peers, peerLimits.timeoutSeconds * 1000) : null;
  let replicator: Replicator | null = null;
  // On the central: the SMTP link as the backup's second sign of life (mail pings).
  const backup = config.server.role === 'central' ? peers?.backup() : null;
  const pingMs = config.topology.failover.mailPingSeconds * 1000;
  const pinger =
    mailer && backup && pingMs > 0
      ? new MailPinger({
          peer: backup,
          self: config.server.name,
          mailer,
          intervalMs: pingMs,
          log: log.child({ part: 'mail-ping' }),
          runsHere: () => w.once.runsHere('delivery'),
        })
      : null;
  return {
    listen: async () => {
      smtp = new SmtpTarget(
        {
          servers: config.mail.servers,
          from: config.mail.from,
          domain: config.server.domain,
          // Read now: the web address is known once the HTTP part listens.
          webUrl: config.mail.webUrl || w.urls.http,
          name: config.server.domain,
          timeoutMs: smtpLimits.timeoutSeconds * 1000,
          concurrency: smtpLimits.concurrency,
        },
        context.store,
        context.audio,
      );
      runner = new DeliveryRunner({
        queue: context.deliveries,
        targets: [
          {
            target: smtp,
            timeoutMs: smtpLimits.timeoutSeconds * 1000,
            concurrency: smtpLimits.concurrency,
            // A live backup in a partition leaves e-mail to the central (domain/partition.ts).
            sendsNow: () => w.partition?.sends().email ?? true,
          },
          ...exchangeTargets(config, context, () => w.urls.http),
          ...(peer
            ? [
                {
                  target: peer,
                  timeoutMs: peerLimits.timeoutSeconds * 1000,
                  concurrency: peerLimits.concurrency,
                },
              ]
            : []),
        ],
        holder: workerId(),
        log: log.child({ part: 'delivery' }),
        runsHere: () => w.once.runsHere('delivery'),
      });
      const started = runner;
      context.deliveryQueued.notify = () => started.poke();
      // What was queued while the server was down goes at once, not at the first poll.
      runner.start();
      if (mailer) {
        replicator = new Replicator({
          peers: replicaPeers,
          replica: context.replica,
          audio: context.audio,
          mailer,
          feed: context.store.feed,
          log: log.child({ part: 'replication' }),
          retryMs: config.topology.retrySeconds * 1000,
          chunkBytes: config.topology.replicationChunkKB * 1024,
          runsHere: () => w.once.runsHere('delivery'),
        });
        replicator.start();
      }
      pinger?.start();
      if (config.mail.servers.length === 0)
        log.info({}, 'no outgoing SMTP server (mail.servers): e-mail waits in the queue');
    },
    close: async () => {
      context.deliveryQueued.notify = () => {};
      await Promise.all([runner?.stop(), replicator?.stop(), pinger?.stop()]);
      smtp?.close();
      peer?.close();
      mailer?.close();
    },
  };
}
