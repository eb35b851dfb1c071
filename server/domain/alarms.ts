import type { Notice } from './delivery.ts';

/**
 * The alarms an administrator hears about, as data: what each means and what to do. An alarm
 * is raised once when its condition starts and cleared once when it ends (the state is kept
 * here, so a condition that lasts is not reported again at every check). A subject tells
 * alarms of one kind apart: the delivery target that fails, the peer that is down.
 */
export const ALARM_KINDS = {
  'disk-low': {
    severity: 'critical',
    summary: 'the data folder is running out of disk space',
    advice: 'free space or grow the disk; deposits fail when it is full',
  },
  'store-unavailable': {
    severity: 'critical',
    summary: 'the store cannot be read or its writes cannot be made durable',
    advice:
      "check the data folder's disk (its kernel log: an I/O error); once it is sound, restart the server",
  },
  'queue-stuck': {
    severity: 'warning',
    summary: 'the delivery queue is not moving',
    advice: 'see `voicegate queue list` for the oldest item and its last error',
  },
  'delivery-failing': {
    severity: 'warning',
    summary: 'deliveries to a target fail for good',
    advice: 'check the target (mail server, Exchange) and its settings, then retry the items',
  },
  'pbx-unregistered': {
    severity: 'critical',
    summary: 'the registration at the PBX is lost',
    advice: 'calls may not reach the voicemail: check the PBX and sip.pbx settings',
  },
  'peer-down': {
    severity: 'critical',
    summary: 'a peer server does not answer',
    advice: 'check the peer server and the link to it',
  },
  'peer-unreachable': {
    severity: 'warning',
    summary: 'the central answers by mail only: its HTTPS heartbeat does not reach it',
    advice:
      'the backup does not take over while the mail pings arrive: check the HTTPS path (firewall, certificate, topology.central.https)',
  },
} as const;

export type AlarmKind = keyof typeof ALARM_KINDS;
export const ALARM_KIND_NAMES = Object.keys(ALARM_KINDS) as AlarmKind[];

export interface Alarm {
  kind: AlarmKind;
  /** Which one of its kind ('' when there is only one): a target kind, a peer's name. */
  subject: string;
  /** What was seen when it was raised (a figure, an error), for the log and the mail. */
  detail: string;
  raisedAt: number;
}

export type AlarmChange = { change: 'raised' | 'cleared'; alarm: Alarm };

/** The alarms active now; `set` says whether a condition raised or cleared one. */
export class AlarmBoard {
  readonly #active = new Map<string, Alarm>();

  /**
   * The condition of one alarm as checked now: a change when it starts or ends, null while it
   * stays as it was.
   */
  set(
    kind: AlarmKind,
    subject: string,
    on: boolean,
    detail: string,
    now: number,
  ): AlarmChange | null {
    const key = `${kind}\u0000${subject}`;
    const was = this.#active.get(key);
    if (on && !was) {
      const alarm = { kind, subject, detail, raisedAt: now };
      this.#active.set(key, alarm);
      return { change: 'raised', alarm };
    }
    if (!on && was) {
      this.#active.delete(key);
      return { change: 'cleared', alarm: { ...was, detail } };
    }
    return null;
  }

  active(): Alarm[] {
    return [...this.#active.values()];
  }

  count(kind: AlarmKind): number {
    let n = 0;
    for (const a of this.#active.values()) if (a.kind === kind) n++;
    return n;
  }
}

/**
 * The mail an administrator gets when an alarm is raised or cleared (`alarms.mailTo`): the
 * server, what happened, what was seen and, when raised, what to do. Times are UTC.
 */
export function alarmNotice(change: AlarmChange, serverName: string, now: number): Notice {
  const { alarm } = change;
  const { severity, summary, advice } = ALARM_KINDS[alarm.kind];
  const what = `${summary}${alarm.subject ? ` (${alarm.subject})` : ''}`;
  const raised = change.change === 'raised';
  const lines = [
    `Voicegate server ${serverName}: alarm ${alarm.kind} ${change.change}.`,
    '',
    `What: ${what}`,
    `Severity: ${severity}`,
    `Seen: ${alarm.detail}`,
    `Raised at: ${new Date(alarm.raisedAt).toISOString()}`,
    ...(raised ? [`What to do: ${advice}`] : [`Cleared at: ${new Date(now).toISOString()}`]),
  ];
  return {
    subject: `[${serverName}] alarm ${raised ? 'raised' : 'cleared'}: ${what}`,
    text: lines.join('\n') + '\n',
  };
}
