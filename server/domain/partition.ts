/**
 * Who sends lamps and e-mail while the central and its backup cannot reach each other (a split
 * brain, DESIGN.md "Topology"), as data. Both sides keep taking messages (their identities are
 * unique) and merge when the link heals; lamps and e-mail should come from one side only.
 *
 * The central always sends: it cannot tell a partition from a backup that is down. A live
 * backup asks the witness (`topology.failover.witness`): a URL both sides can reach by another
 * path, answering 2xx while it reaches the central. The backup sends only when it cannot
 * reach the witness's view of the central: the witness says the central is down (5xx), or it
 * tells nothing (no answer, or an answer that is neither). Without a witness a live backup sends, so
 * during a partition both may send (the risk of running without one).
 */

/**
 * What the backup's last probe of the witness saw:
 * - `none`: no witness configured;
 * - `central-up`: the witness answered 2xx (it reaches the central);
 * - `central-down`: the witness answered 5xx (it does not reach the central);
 * - `unreachable`: the witness did not answer (refused, timed out) or answered something that
 *   says nothing of the central (a redirect, a 404 from a wrong URL).
 */
export const WITNESS_VIEWS = ['none', 'central-up', 'central-down', 'unreachable'] as const;
export type WitnessView = (typeof WITNESS_VIEWS)[number];

/** Where this server stands: the central (or a standalone server), a backup live or not. */
export type PartitionSide = 'central' | 'backup-standby' | 'backup-live';

export interface Sends {
  /** Lamps told to the PBX unasked. */
  lamps: boolean;
  /**
   * E-mail in this server's queue. A backup in standby holds no voicemail e-mail of its own
   * (what it records goes to the central) but what it held while live: it sends that then.
   */
  email: boolean;
}

const ALL: Sends = { lamps: true, email: true };
const HOLD: Sends = { lamps: false, email: false };

/** The rule table: per side, per witness view. */
export const PARTITION_SENDS: Record<PartitionSide, Record<WitnessView, Sends>> = {
  central: { none: ALL, 'central-up': ALL, 'central-down': ALL, unreachable: ALL },
  'backup-standby': {
    none: { lamps: false, email: true },
    'central-up': { lamps: false, email: true },
    'central-down': { lamps: false, email: true },
    unreachable: { lamps: false, email: true },
  },
  'backup-live': { none: ALL, 'central-up': HOLD, 'central-down': ALL, unreachable: ALL },
};

/** What this side sends now, given the witness's last view. */
export function partitionSends(side: PartitionSide, view: WitnessView): Sends {
  return PARTITION_SENDS[side][view];
}
