import type { AudioInspector, AudioStore, DomainLogger, VoicemailStore } from './ports.ts';
import type { HousekeepingRules, PlaybackOrder, Policy } from './policy.ts';
import type { ScryptCost } from './code-hash.ts';
import type { ExchangeConnectionRef } from './exchange.ts';
import type { Observe } from './observe.ts';

/** Everything the domain services use, wired once by the composition root. */
export interface DomainDeps {
  store: VoicemailStore;
  audio: AudioStore;
  inspectAudio: AudioInspector;
  policy: Policy;
  housekeeping: HousekeepingRules;
  playbackOrder: PlaybackOrder;
  /** This server's name, recorded as each message's origin and in its identity. */
  serverName: string;
  /** A new id, unique at this server and rising with time (a ULID): a voicemail's identity. */
  newVoicemailId: () => string;
  defaults: { locale: string; timeZone: string };
  log: DomainLogger;
  now?: () => number;
  /** Called when a delivery was queued, so the runner starts at once instead of at its next poll. */
  onDeliveryQueued?: () => void;
  scryptCost?: ScryptCost;
  /** The configured Exchange connections (`exchange.connections`), by name and kind. */
  exchangeConnections?: readonly ExchangeConnectionRef[];
  /**
   * On a distributed server, the central's name (`topology.central.name`): every voicemail
   * recorded here is forwarded there through the queue instead of being kept.
   */
  central?: string;
  /**
   * On a backup, whether it is live now: then it keeps what it records, as the central would
   * (`central` is where it goes otherwise). Absent: never.
   */
  keepsMessages?: () => boolean;
  /**
   * On a central with `topology.syncMessages`, the backup's name: each message kept here is
   * also queued for it (a `copy` to the `peer` target).
   */
  backup?: string;
  /** Told of log-ins, lockouts, deposits and delivery results (metrics, alarms). */
  observe?: Observe;
  /** How long the audit trail is kept (`audit.retentionDays`; absent: a year). */
  auditRetentionDays?: number;
}
