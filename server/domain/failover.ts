/**
 * How a backup server follows its central (DESIGN.md, "Topology"), as data: the states, the
 * events that move between them, and the failback modes. One function (`stepFailover`) applies
 * them; the watcher that feeds it heartbeats and the parts that ask `isLive` are wired by the
 * composition root.
 */

/**
 * - `standby`: the central answers; the backup keeps in step and sends nothing.
 * - `suspect`: beats missed, fewer than `missedBeats`.
 * - `live`: the central is gone; the backup answers, stores, mails and lights lamps.
 * - `returning`: the central answers again; the backup stays live until its failback mode says.
 * - `handing-back`: what happened on the backup flows to the central; live until it caught up.
 */
export const FAILOVER_STATES = ['standby', 'suspect', 'live', 'returning', 'handing-back'] as const;
export type FailoverState = (typeof FAILOVER_STATES)[number];

/**
 * - `beat` / `missed`: a heartbeat to the central answered or not.
 * - `failback`: an administrator ran `voicegate topology failback`.
 * - `calls-ended`: no call is in progress on the backup.
 * - `timeout`: `failover.timeoutSeconds` passed since the central returned.
 * - `caught-up`: the central has everything the backup did while live.
 */
export const FAILOVER_EVENTS = [
  'beat',
  'missed',
  'failback',
  'calls-ended',
  'timeout',
  'caught-up',
] as const;
export type FailoverEvent = (typeof FAILOVER_EVENTS)[number];

export type FailbackMode = 'manual' | 'graceful' | 'automatic';

/** Which events hand control back to a returned central, per mode. */
export const FAILBACK_MODES: Record<FailbackMode, readonly FailoverEvent[]> = {
  manual: ['failback'],
  graceful: ['failback', 'calls-ended'],
  automatic: ['failback', 'calls-ended', 'timeout'],
};

/**
 * The transitions. A target of `missed-enough` is `live` once `missedBeats` are missed in a
 * row, else `suspect`; `hand-back` is `handing-back` if the failback mode takes that event,
 * else the state stays. An event absent from a state's row changes nothing.
 */
const TRANSITIONS: Record<
  FailoverState,
  Partial<Record<FailoverEvent, FailoverState | 'missed-enough' | 'hand-back'>>
> = {
  standby: { beat: 'standby', missed: 'missed-enough' },
  suspect: { beat: 'standby', missed: 'missed-enough' },
  live: { beat: 'returning' },
  returning: {
    missed: 'live',
    failback: 'hand-back',
    'calls-ended': 'hand-back',
    timeout: 'hand-back',
  },
  'handing-back': { missed: 'live', 'caught-up': 'standby' },
};

/** The states in which the backup serves as the central does (lamps, e-mail, collection). */
export const LIVE_STATES: readonly FailoverState[] = ['live', 'returning', 'handing-back'];

export interface FailoverStatus {
  state: FailoverState;
  /** Beats missed in a row. */
  missed: number;
}

export interface FailoverRules {
  missedBeats: number;
  failback: FailbackMode;
}

/** The status after `event`. */
export function stepFailover(
  status: FailoverStatus,
  event: FailoverEvent,
  rules: FailoverRules,
): FailoverStatus {
  const missed = event === 'missed' ? status.missed + 1 : event === 'beat' ? 0 : status.missed;
  const to = TRANSITIONS[status.state][event];
  if (to === undefined) return { state: status.state, missed };
  if (to === 'missed-enough')
    return { state: missed >= rules.missedBeats ? 'live' : 'suspect', missed };
  if (to === 'hand-back')
    return {
      state: FAILBACK_MODES[rules.failback].includes(event) ? 'handing-back' : status.state,
      missed,
    };
  return { state: to, missed };
}

export function isLive(state: FailoverState): boolean {
  return LIVE_STATES.includes(state);
}
