import { connect } from 'node:net';
import type { QueueItem } from '../domain/delivery.ts';
import { isLive } from '../domain/failover.ts';
import { partitionSends, type WitnessView } from '../domain/partition.ts';
import type { SavedFailover } from './failover-watcher.ts';
import type { Peer, PeerSet } from './peer-set.ts';
import type { ReplicationStatus } from './replication-status.ts';

/** One peer as `voicegate topology status` (and later /api/admin/topology) shows it. */
export interface PeerStatus {
  name: string;
  role: Peer['role'];
  smtp: string;
  /** Its SMTP listener greeted us just now. */
  smtpLive: boolean;
  /** Its web health answered 200 just now; null when its entry names no HTTPS URL. */
  httpsLive: boolean | null;
  /** Why a probe failed (the first), or null. */
  problem: string | null;
  /** Sync mail waiting here for it, and what it refused for good (kept here instead). */
  queued: number;
  failed: number;
  /** The oldest waiting mail's first queueing (ms), or null: how far behind it is. */
  oldestQueuedAt: number | null;
  /** Replication of settings, greetings and flows with it (central to backup or distributed). */
  replication: ReplicationStatus | null;
}

/** A backup's watch of its central, as status shows it. */
export interface FailoverView {
  state: string;
  /** Whether this backup serves as the central now. */
  live: boolean;
  missed: number;
  lastBeatAt: number | null;
  changedAt: number;
  liveSince: number | null;
  /** The last heartbeat's problem, or null (known only to the running server). */
  problem: string | null;
  /** Sync mail waiting at the central for this backup, per its last heartbeat. */
  queuedThere: number | null;
  /** The central's last mail ping (ms), or null (known only to the running server). */
  lastMailPingAt: number | null;
  /** Whether the central answers by mail only (heartbeat silent, pings arriving). */
  mailOnly: boolean;
  /** Its witness (`topology.failover.witness`), or null when it has none. */
  witness: WitnessStatus | null;
}

/** A backup's witness as status shows it: what it sees of the central, what the backup sends. */
export interface WitnessStatus {
  url: string;
  /** The witness's view of the central (`server/domain/partition.ts`). */
  view: WitnessView;
  /** Whether this backup sends lamps, and e-mail, now: the partition rule for its state and view. */
  lamps: boolean;
  email: boolean;
}

export interface TopologyStatus {
  self: { name: string; role: string };
  checkedAt: number;
  peers: PeerStatus[];
  /** On a backup, its watch of the central; null on other roles. */
  failover: FailoverView | null;
}

/** Whether an SMTP server greets (220) within `ms`. */
export function smtpGreets(host: string, port: number, ms: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let text = '';
    const done = (problem: string | null): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    };
    const timer = setTimeout(() => done(`SMTP: no greeting within ${ms / 1000} s`), ms);
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('\n')) done(text.startsWith('220') ? null : `SMTP: ${text.trim()}`);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => done(`SMTP: ${err.code ?? err.message}`));
  });
}

/** Whether a web base URL's /healthz answers 200 within `ms`. */
async function healthAnswers(base: string, ms: number): Promise<string | null> {
  try {
    const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(ms) });
    return res.ok ? null : `HTTPS: /healthz answered ${res.status}`;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return `HTTPS: ${cause ?? (err as Error).message}`;
  }
}

/**
 * Each peer: whether its SMTP listener and its web health answer now, and the sync mail
 * waiting here for it (the queue is handed in, read from the store).
 */
export async function topologyStatus(
  peers: PeerSet,
  role: string,
  queue: readonly QueueItem[],
  opts: {
    timeoutMs?: number;
    now?: number;
    failover?: FailoverView | null;
    replication?: ReadonlyMap<string, ReplicationStatus>;
  } = {},
): Promise<TopologyStatus> {
  const ms = opts.timeoutMs ?? 3000;
  const statuses = await Promise.all(
    peers.all().map(async (p): Promise<PeerStatus> => {
      const [smtp, https] = await Promise.all([
        smtpGreets(p.host, p.port, ms),
        p.https ? healthAnswers(p.https, ms) : Promise.resolve(undefined),
      ]);
      const mine = queue.filter(
        (d) => d.kind !== 'notice' && d.target === 'peer' && d.payload?.peer === p.name,
      );
      const pending = mine.filter((d) => d.status === 'pending');
      return {
        name: p.name,
        role: p.role,
        smtp: `${p.host}:${p.port}`,
        smtpLive: smtp === null,
        httpsLive: https === undefined ? null : https === null,
        problem: smtp ?? https ?? null,
        queued: pending.length,
        failed: mine.length - pending.length,
        oldestQueuedAt: pending.length ? Math.min(...pending.map((d) => d.createdAt)) : null,
        replication: opts.replication?.get(p.name) ?? null,
      };
    }),
  );
  return {
    self: { name: peers.self.name, role },
    checkedAt: opts.now ?? Date.now(),
    peers: statuses,
    failover: opts.failover ?? null,
  };
}

/**
 * A backup's saved watch as status shows it; what only the running watcher knows may be absent.
 * `witness`: its witness's URL and view (the running server's last probe, or one made now).
 */
export function failoverView(
  s: SavedFailover,
  running?: {
    problem: string | null;
    queuedThere: number;
    lastMailPingAt?: number | null;
    mailOnly?: boolean;
  },
  witness?: { url: string; view: WitnessView },
): FailoverView {
  const sends =
    witness && partitionSends(isLive(s.state) ? 'backup-live' : 'backup-standby', witness.view);
  return {
    state: s.state,
    live: isLive(s.state),
    missed: s.missed,
    lastBeatAt: s.lastBeatAt,
    changedAt: s.changedAt,
    liveSince: s.liveSince,
    problem: running?.problem ?? null,
    queuedThere: running ? running.queuedThere : null,
    lastMailPingAt: running?.lastMailPingAt ?? null,
    mailOnly: running?.mailOnly ?? false,
    witness: witness && sends ? { ...witness, lamps: sends.lamps, email: sends.email } : null,
  };
}
