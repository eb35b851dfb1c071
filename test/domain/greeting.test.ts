import { describe, expect, it } from 'vitest';
import {
  callerGreetings,
  callReason,
  recordedGreeting,
  type CallReason,
} from '../../server/domain/greeting.ts';
import type { ActiveGreeting, GreetingKind } from '../../server/domain/mailbox.ts';

const box = (activeGreeting: ActiveGreeting, extension: string | null = '201', name = 'bea') => ({
  activeGreeting,
  extension,
  name,
});

/** What the caller hears first, in words: the greeting's kind, `name`, `number 201` or `nobody`. */
function first(
  active: ActiveGreeting,
  recorded: GreetingKind[],
  reason: CallReason,
  extension: string | null = '201',
  name = 'bea',
): string {
  const c = callerGreetings(box(active, extension, name), recorded, reason)[0]!;
  return c.say === 'greeting' ? c.kind : c.say === 'number' ? `number ${c.number}` : c.say;
}

describe('which greeting a caller hears', () => {
  it.each([
    // active, recorded, call reason, heard first
    ['unavailable', ['unavailable'], 'direct', 'unavailable'],
    ['unavailable', ['unavailable', 'busy'], 'direct', 'unavailable'],
    ['unavailable', ['unavailable', 'busy'], 'busy', 'busy'],
    ['unavailable', ['unavailable', 'busy'], 'no-answer', 'unavailable'],
    ['unavailable', ['unavailable', 'busy'], 'forwarded', 'unavailable'],
    ['unavailable', ['unavailable'], 'busy', 'unavailable'],
    ['busy', ['busy'], 'direct', 'busy'],
    ['busy', ['busy'], 'busy', 'busy'],
    ['temporary', ['temporary', 'busy'], 'busy', 'temporary'],
    ['temporary', ['temporary', 'busy'], 'direct', 'temporary'],
    ['temporary', ['busy', 'name'], 'direct', 'name'],
    ['temporary', ['busy'], 'busy', 'number 201'],
    ['unavailable', ['busy', 'name'], 'direct', 'name'],
    ['unavailable', ['busy', 'name'], 'busy', 'busy'],
    ['unavailable', ['name'], 'busy', 'name'],
    ['unavailable', [], 'direct', 'number 201'],
    ['busy', ['temporary'], 'busy', 'number 201'],
  ] as const)('active %s, recorded %j, call %s: %s', (active, recorded, reason, heard) => {
    expect(first(active, [...recorded], reason)).toBe(heard);
  });

  it('speaks a numeric name when there is no extension, and nobody in particular otherwise', () => {
    expect(first('unavailable', [], 'direct', null, '4711')).toBe('number 4711');
    expect(first('unavailable', [], 'direct', null, 'sales')).toBe('nobody');
  });

  it('lists every fallback in order, each once, ending with one that needs no recording', () => {
    expect(callerGreetings(box('unavailable'), ['busy', 'unavailable', 'name'], 'busy')).toEqual([
      { say: 'greeting', kind: 'busy' },
      { say: 'greeting', kind: 'unavailable' },
      { say: 'name' },
      { say: 'number', number: '201' },
    ]);
    expect(callerGreetings(box('busy'), ['busy'], 'busy')).toEqual([
      { say: 'greeting', kind: 'busy' },
      { say: 'number', number: '201' },
    ]);
  });

  it('tells the owner whether a chosen greeting will be heard', () => {
    expect(recordedGreeting(callerGreetings(box('busy'), ['busy'], 'direct'))).toBe('busy');
    expect(recordedGreeting(callerGreetings(box('busy'), ['name'], 'direct'))).toBeNull();
  });

  it('reads the SIP forwarding reason', () => {
    expect(callReason(null)).toBe('direct');
    expect(callReason('user-busy')).toBe('busy');
    expect(callReason('no-answer')).toBe('no-answer');
    expect(callReason('unconditional')).toBe('forwarded');
    expect(callReason('deflection')).toBe('forwarded');
  });
});
