import { describe, expect, it } from 'vitest';
import {
  isLive,
  SIGNAL_EVENTS,
  signalEvent,
  stepFailover,
  type FailbackMode,
  type FailoverEvent,
  type FailoverStatus,
} from '../../server/domain/failover.ts';

const run = (events: FailoverEvent[], failback: FailbackMode = 'manual'): FailoverStatus =>
  events.reduce((s, e) => stepFailover(s, e, { missedBeats: 3, failback }), {
    state: 'standby',
    missed: 0,
  } as FailoverStatus);

describe('a backup following its central', () => {
  it('becomes live after the configured missed beats in a row, not before', () => {
    expect(run(['missed', 'missed'])).toEqual({ state: 'suspect', missed: 2 });
    expect(run(['missed', 'missed', 'beat', 'missed', 'missed']).state).toBe('suspect');
    expect(run(['missed', 'missed', 'missed'])).toEqual({ state: 'live', missed: 3 });
    expect(isLive(run(['missed', 'missed', 'missed']).state)).toBe(true);
    expect(isLive(run(['missed']).state)).toBe(false);
  });

  const down: FailoverEvent[] = ['missed', 'missed', 'missed', 'beat'];

  it('stays live when the central returns, until its failback mode says', () => {
    expect(run(down).state).toBe('returning');
    expect(run([...down, 'calls-ended', 'timeout'], 'manual').state).toBe('returning');
    expect(run([...down, 'failback'], 'manual').state).toBe('handing-back');
    expect(run([...down, 'timeout'], 'graceful').state).toBe('returning');
    expect(run([...down, 'calls-ended'], 'graceful').state).toBe('handing-back');
    expect(run([...down, 'timeout'], 'automatic').state).toBe('handing-back');
  });

  it('hands back only once the central caught up, and stays live if it goes again', () => {
    const back: FailoverEvent[] = [...down, 'failback'];
    expect(isLive(run(back).state)).toBe(true);
    expect(run([...back, 'caught-up'])).toEqual({ state: 'standby', missed: 0 });
    expect(run([...back, 'missed']).state).toBe('live');
    expect(run([...down, 'missed']).state).toBe('live');
  });

  it('the central alive by mail only never fails over; when the pings stop too, it does at once', () => {
    expect(signalEvent(true, true)).toBe('beat');
    expect(signalEvent(true, false)).toBe('beat');
    expect(signalEvent(false, true)).toBe('mail-only');
    expect(signalEvent(false, false)).toBe('missed');
    expect(Object.values(SIGNAL_EVENTS).sort()).toEqual(['beat', 'beat', 'mail-only', 'missed']);
    const mailOnly: FailoverEvent[] = [
      'missed',
      'mail-only',
      'mail-only',
      'mail-only',
      'mail-only',
    ];
    expect(run(mailOnly)).toEqual({ state: 'standby', missed: 5 });
    expect(run([...mailOnly, 'missed'])).toEqual({ state: 'live', missed: 6 });
    expect(run([...mailOnly, 'beat', 'missed'])).toEqual({ state: 'suspect', missed: 1 });
    // Live or returning, mail alone changes nothing: failback waits for the heartbeat.
    expect(run(['missed', 'missed', 'missed', 'mail-only']).state).toBe('live');
    expect(run([...down, 'mail-only']).state).toBe('returning');
  });
});
