import { Type, type Static } from '@sinclair/typebox';
import type { FailbackMode } from '../domain/failover.ts';

/**
 * The other Voicegate servers of a network (DESIGN.md, "Topology"): one entry per peer, with
 * where its SMTP listener is (sync mail goes there, to vmsyncmaster@ or vmsyncslave@ of its
 * domain), where its HTTPS health is, and the secret both sides sign sync mail with.
 */
const Peer = Type.Object(
  {
    /** The peer's `server.name`: it names itself with it in every sync mail it signs. */
    name: Type.String({
      minLength: 1,
      maxLength: 200,
      pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$',
    }),
    /** The peer's SMTP listener, host:port (e.g. central.example.com:25). */
    smtp: Type.String({
      minLength: 3,
      pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$',
    }),
    /** The peer's mail domain (its `server.domain`); empty: the same as this server's. */
    domain: Type.String({ default: '', pattern: '^[A-Za-z0-9.-]*$' }),
    /** The peer's web base URL, for its health (https://central.example.com:8443). */
    https: Type.String({ default: '', pattern: '^(https?://.+)?$' }),
    /** The secret shared with this peer (at least 16 characters), or a file holding it. */
    secret: Type.String({ default: '' }),
    secretFile: Type.String({ default: '' }),
    /** Sync mail to and from this peer may go without TLS (a link that is private anyway). */
    plainText: Type.Boolean({ default: false }),
    /** PEM file of the CA (or self-signed certificate) to trust for this peer's TLS. */
    caFile: Type.String({ default: '' }),
    /**
     * On the central, for a distributed server: the call flows it runs (a file relative to the
     * central's data folder), kept in step there; empty: it keeps its own flows file.
     */
    flowsFile: Type.String({ default: '' }),
    /**
     * On the central, for a distributed server: the mailboxes it takes (names, or patterns with
     * `*`); empty: every mailbox (`server/domain/mailbox-choice.ts`).
     */
    mailboxes: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
      default: [],
      maxItems: 10000,
    }),
  },
  { additionalProperties: false },
);
export type PeerConfig = Static<typeof Peer>;

/** The failback modes (their rules: `server/domain/failover.ts`). */
const FAILBACK = ['manual', 'graceful', 'automatic'] as const satisfies readonly FailbackMode[];

export const TopologySchema = Type.Object(
  {
    central: Type.Optional(Peer),
    backup: Type.Optional(Peer),
    distributed: Type.Array(Peer, { default: [], maxItems: 30 }),
    /** Central to backup: messages too, not only settings, greetings and call flows. */
    syncMessages: Type.Boolean({ default: false }),
    /**
     * How long a peer that does not answer waits before its sync mail is tried again. Every
     * waiting mail to that peer is tried again at the same moment, oldest first.
     */
    retrySeconds: Type.Number({ default: 30, minimum: 1, maximum: 3600 }),
    /**
     * Replication from the central: at most this much (audio included) per sync mail; a greeting
     * larger than it goes alone. Keep it under the peers' smtp.maxMessageMB.
     */
    replicationChunkKB: Type.Integer({ default: 4096, minimum: 16, maximum: 65536 }),
    failover: Type.Object(
      {
        /** Heartbeats missed in a row before the backup becomes live. */
        missedBeats: Type.Integer({ default: 3, minimum: 1, maximum: 100 }),
        intervalSeconds: Type.Number({ default: 10, minimum: 1, maximum: 3600 }),
        failback: Type.Union(
          FAILBACK.map((m) => Type.Literal(m)),
          { default: 'manual' },
        ),
        /** automatic: hand back after this long even if calls are still in progress. */
        timeoutSeconds: Type.Number({ default: 300, minimum: 1, maximum: 86400 }),
        /**
         * The SMTP link as a second sign of life: the central sends its backup a signed ping
         * sync mail this often; the backup does not fail over while pings arrive within two
         * of these intervals of each other, even with its heartbeat silent. 0: no pings.
         * Set the same on both.
         */
        mailPingSeconds: Type.Number({ default: 10, minimum: 0, maximum: 3600 }),
        /**
         * A URL both sides reach by another path, answering 2xx while it reaches the central:
         * a live backup sends lamps and e-mail only when it does not (`domain/partition.ts`).
         */
        witness: Type.String({ default: '', pattern: '^(https?://.+)?$' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);
export type TopologyConfig = Static<typeof TopologySchema>;

/** A peer with the role it has in this network. */
export interface RolePeer extends PeerConfig {
  role: 'central' | 'backup' | 'distributed';
}

/** Every configured peer with its role, and the config key it is under. */
export function peersOf(t: TopologyConfig): (RolePeer & { key: string })[] {
  return [
    ...(t.central ? [{ ...t.central, role: 'central' as const, key: 'topology.central' }] : []),
    ...(t.backup ? [{ ...t.backup, role: 'backup' as const, key: 'topology.backup' }] : []),
    ...t.distributed.map((p, i) => ({
      ...p,
      role: 'distributed' as const,
      key: `topology.distributed.${i}`,
    })),
  ];
}

/** Which peers each role needs, said as the fix. */
const NEEDS: Record<string, (t: TopologyConfig) => string | null> = {
  standalone: (t) =>
    peersOf(t).length > 0
      ? 'config key "topology" names peers but server.role is standalone: set server.role (central, backup or distributed)'
      : null,
  central: (t) =>
    t.central
      ? 'config key "topology.central" is set on the central itself: name the backup and distributed servers only'
      : !t.backup && t.distributed.length === 0
        ? 'server.role central needs its peers: set topology.backup or topology.distributed'
        : null,
  backup: (t) =>
    t.central
      ? null
      : 'server.role backup needs config key "topology.central" (the server it backs up)',
  distributed: (t) =>
    t.central
      ? null
      : 'server.role distributed needs config key "topology.central" (where its messages go)',
};

/**
 * What the schema cannot say of `topology`: the peers the role needs, unique names (not this
 * server's own), and each peer's secret: one of secret and secretFile, long enough to resist
 * guessing. Returns the first problem naming the key, or null.
 */
export function topologyConfigProblem(
  role: string,
  serverName: string,
  t: TopologyConfig,
): string | null {
  const need = NEEDS[role]?.(t);
  if (need) return need;
  const seen = new Set<string>([serverName]);
  for (const p of peersOf(t)) {
    if (seen.has(p.name))
      return p.name === serverName
        ? `config key "${p.key}.name": "${p.name}" is this server's own name (server.name)`
        : `config key "${p.key}.name": "${p.name}" is used twice`;
    seen.add(p.name);
    if ((p.secret === '') === (p.secretFile === ''))
      return `config key "${p.key}": set one of secret and secretFile (the secret shared with ${p.name})`;
    if (p.secret !== '' && p.secret.length < 16)
      return `config key "${p.key}.secret" is too short: use at least 16 characters (e.g. openssl rand -hex 32)`;
  }
  return null;
}
