import type { Context } from '../context.ts';
import type { LoadedConfig } from '../config/load.ts';
import { SYSTEM_ACTOR } from '../domain/audit.ts';
import { AuditTrail } from '../domain/audit-trail.ts';
import { isLive } from '../domain/failover.ts';
import { queueHandBack } from '../domain/hand-back.ts';
import type { Logger } from '../log.ts';
import { FailoverFiles } from '../peers/failover-file.ts';
import { FailoverWatcher } from '../peers/failover-watcher.ts';
import { askBeat } from '../peers/heartbeat.ts';
import { GreetingOutbox } from '../peers/greeting-outbox.ts';
import { PeerMailer } from '../peers/peer-mailer.ts';
import { greetingOutboxFile } from '../peers/replica-files.ts';
import type { Part, Wiring } from './part.ts';
import { peerSetOf } from './peers.ts';

/** How long one heartbeat may take: within the interval, and never more than 10 s. */
const beatTimeoutMs = (intervalMs: number): number => Math.min(10_000, intervalMs * 0.8);

/**
 * A backup's watch of its central (`topology.failover`), built before the parts so that the
 * once-only seam and the deposits can ask it whether the backup is live; null on other roles.
 * Each change of state is logged and audited once; losing the central raises `peer-down`.
 */
export function buildFailoverWatcher(
  loaded: LoadedConfig,
  context: Context,
  log: Logger,
  wiring: () => Wiring,
): FailoverWatcher | null {
  const { config } = loaded;
  if (config.server.role !== 'backup') return null;
  const peers = peerSetOf(loaded)!;
  const central = peers.central()!;
  const { failover } = config.topology;
  const files = new FailoverFiles(loaded.dataDir);
  const audit = new AuditTrail({ store: context.store, log: log.child({ part: 'failover' }) });
  const flog = log.child({ part: 'failover', peer: central.name });
  // Greetings changed here while live go back to the central at hand-back.
  const greetings = new GreetingOutbox({
    file: greetingOutboxFile(loaded.dataDir, central.name),
    central,
    greetings: (mailbox) => context.messages.greetings(mailbox),
    readAudio: (key) => context.audio.read(key),
    mailer: () => new PeerMailer(peers, config.delivery.targets.peer.timeoutSeconds * 1000),
    log: flog,
  });
  context.observers.watch((o) => {
    if (o.event === 'greeting' && watcher.isLive())
      void greetings.note({
        mailbox: o.mailbox,
        kind: o.kind,
        changedAt: o.at,
        server: config.server.name,
        ...(o.change === 'removed' ? { removed: true as const } : {}),
      });
  });
  const watcher = new FailoverWatcher({
    rules: { missedBeats: failover.missedBeats, failback: failover.failback },
    intervalMs: failover.intervalSeconds * 1000,
    timeoutMs: failover.timeoutSeconds * 1000,
    mailPingMs: failover.mailPingSeconds * 1000,
    onError: (err) => flog.error({ err: err.message }, 'failover: a round failed; tried again'),
    onMailOnly: (on, detail) => {
      if (on) flog.warn({ detail }, 'failover: the central answers by mail only, no failover');
      else flog.info({ detail }, 'failover: the central no longer answers by mail only');
      wiring().monitor?.alarms.set('peer-unreachable', central.name, on, detail);
    },
    beat: () => askBeat(central, peers.self.name, beatTimeoutMs(failover.intervalSeconds * 1000)),
    callsInProgress: () => wiring().phone?.counter.stats().active ?? 0,
    handBack: async (since) => {
      await queueHandBack(
        { store: context.store, log: flog, serverName: config.server.name },
        central.name,
        since,
        Date.now(),
      );
      context.deliveryQueued.notify();
    },
    caughtUp: async () =>
      (await greetings.flush()) === 0 &&
      !(await context.deliveries.list()).some(
        (d) => d.target === 'peer' && d.payload?.peer === central.name && d.status === 'pending',
      ),
    takeFailbackRequest: () => files.takeFailbackRequest(),
    load: () => files.load(),
    save: (s) => files.save(s),
    onChange: (change) => {
      const entry = { ...change, live: isLive(change.to) };
      if (change.to === 'live' || change.to === 'suspect')
        flog.warn(entry, `failover: ${change.to}`);
      else flog.info(entry, `failover: ${change.to}`);
      void audit.record({
        kind: 'failover',
        actor: SYSTEM_ACTOR,
        reason: `${change.from} -> ${change.to}: ${change.detail}`,
        details: { from: change.from, to: change.to, event: change.event, peer: central.name },
      });
      const alarms = wiring().monitor?.alarms;
      if (change.to === 'live') alarms?.set('peer-down', central.name, true, change.detail);
      if (change.event === 'beat') alarms?.set('peer-down', central.name, false, change.detail);
    },
  });
  return watcher;
}

/**
 * Starts and stops the watch built by `buildFailoverWatcher`, and the witness's
 * (`topology.failover.witness`, `compose/partition.ts`); nothing on other roles.
 */
export function buildFailoverPart(w: Wiring): Part {
  const watcher = w.failover;
  const witness = w.partition?.witness;
  return {
    listen: async () => {
      witness?.start();
      watcher?.start();
    },
    close: async () => {
      await Promise.all([watcher?.stop(), witness?.stop()]);
    },
  };
}
