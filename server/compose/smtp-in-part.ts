import { buildSmtp, type SmtpPart } from '../smtp-in/smtp-listener.ts';
import { buildSyncInbox } from '../peers/sync-inbox.ts';
import { listenError, type Part, type Wiring } from './part.ts';
import { peerSetOf, replicaReceiverOf } from './peers.ts';

/** Voicemail arriving by e-mail, for this server's domain. */
export function buildSmtpInPart(w: Wiring): Part & { smtp: SmtpPart } {
  const { config } = w.loaded;
  const log = w.log.child({ proto: 'smtp-in' });
  // On a server with peers, their signed sync mail comes in here too.
  const peers = peerSetOf(w.loaded);
  const replica = replicaReceiverOf(w.loaded, w.context.replica);
  const sync = peers
    ? buildSyncInbox({
        peers,
        messages: w.context.messages,
        log,
        keepsCentralCopies: config.server.role === 'backup',
        ...(config.server.role === 'central' ? { greetings: w.context.messages } : {}),
        // A backup's watch counts the central's mail pings as a sign of life.
        ...(w.failover ? { onPing: () => w.failover?.mailPing() } : {}),
        ...(replica ? { replica } : {}),
      })
    : undefined;
  const smtp = buildSmtp(
    {
      mailboxes: w.context.mailboxes,
      messages: w.context.messages,
      log,
      ...(sync ? { sync } : {}),
    },
    {
      host: config.smtp.host,
      port: config.smtp.port,
      tls: w.tls,
      domain: config.server.domain,
      maxMessageBytes: Math.round(config.smtp.maxMessageMB * 1024 * 1024),
      allowedPeers: config.smtp.allowedPeers,
      requireAuth: config.smtp.requireAuth,
      limits: config.limits,
    },
  );
  return {
    smtp,
    listen: async () => {
      await smtp.listen().catch((err: unknown) => {
        throw listenError(err, 'smtp.port', config.smtp.host, config.smtp.port);
      });
      w.listeners.smtp = () => smtp.stats();
    },
    close: () => smtp.close(),
    ports: () => ({ smtp: smtp.port }),
  };
}
