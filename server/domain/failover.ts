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
 * - `beat` / `missed`: a heartbeat to the central answered or not (and, for `missed`, no mail
 *   ping since it went silent).
 * - `mail-only`: the heartbeat missed, but the central's signed mail pings still arrive: it is
 *   alive and unreachable over HTTPS only. The backup does not fail over on it; the watch
 *   raises it (`SIGNAL_EVENTS`).
 * - `failback`: an administrator ran `voicegate topology failback`.
 * - `calls-ended`: no call is in progress on the backup.
 * - `timeout`: `failover.timeoutSeconds` passed since the central returned.
 * - `caught-up`: the central has everything the backup did while live.
 */
export const FAILOVER_EVENTS = [
  'beat',
  'missed',
  'mail-only',
  'failback',
  'calls-ended',
  'timeout',
  'caught-up',
] as const;
export type FailoverEvent = (typeof FAILOVER_EVENTS)[number];

/**
 * The two signals of the central's life and the event they make, as data: its HTTPS heartbeat
 * answered (`https`), and its signed `ping` sync mail arriving since the heartbeat went silent
 * (`mail`). The heartbeat decides whenever it answers; mail alone keeps a backup from failing
 * over a central that lives behind a broken HTTPS path; neither is a missed beat.
 */
export const SIGNAL_EVENTS: Record<
  'https+mail' | 'https' | 'mail' | 'none',
  'beat' | 'missed' | 'mail-only'
> = {
  'https+mail': 'beat',
  https: 'beat',
  mail: 'mail-only',
  none: 'missed',
};

/** The event the signals seen in one round make (`SIGNAL_EVENTS`). */
export function signalEvent(https: boolean, mail: boolean): 'beat' | 'missed' | 'mail-only' {
  return SIGNAL_EVENTS[https ? (mail ? 'https+mail' : 'https') : mail ? 'mail' : 'none'];
}

export type FailbackMode = 'manual' | 'graceful' | 'automatic';

/** Which events hand control back to a returned central, per mode. */
export const FAILBACK_MODES: Record<FailbackMode, readonly FailoverEvent[]> = {
  manual: ['failback'],
  graceful: ['failback', 'calls-ended'],
  automatic: ['failback', 'calls-ended', 'timeout'],
};

/**
 * The transitions. `mail-only` counts a missed heartbeat but never makes the backup live: a
 * suspect backup is back in standby, a live one stays live (the central must answer its
 * heartbeat before failback). When the pings stop too, the next `missed` finds the count
 * reached and fails over at once. A target of `missed-enough` is `live` once `missedBeats` are missed in a
 * row, else `suspect`; `hand-back` is `handing-back` if the failback mode takes that event,
 * else the state stays. An event absent from a state's row changes nothing.
 */
const TRANSITIONS: Record<
  FailoverState,
  Partial<Record<FailoverEvent, FailoverState | 'missed-enough' | 'hand-back'>>
> = {
  standby: { beat: 'standby', missed: 'missed-enough', 'mail-only': 'standby' },
  suspect: { beat: 'standby', missed: 'missed-enough', 'mail-only': 'standby' },
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
  const missed =
    event === 'missed' || event === 'mail-only'
      ? status.missed + 1
      : event === 'beat'
        ? 0
        : status.missed;
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
