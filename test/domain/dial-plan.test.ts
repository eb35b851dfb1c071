import { describe, expect, it } from 'vitest';
import { compilePattern, dialString, DialPlan } from '../../server/domain/dial-plan.ts';
import { isVoicegateError } from '../../server/domain/errors.ts';

const EXTENSIONS = ['201', '202', null];

function allowed(patterns: string[], raw: string | null): boolean {
  return new DialPlan(patterns).decide(raw, EXTENSIONS).allowed;
}

describe('dial strings', () => {
  it('keeps digits, * # and a leading +, dropping visual separators', () => {
    expect(dialString('+33 1 55-50.00 (42)')).toBe('+33155500042');
    expect(dialString('*72#')).toBe('*72#');
    expect(dialString('5550100')).toBe('5550100');
  });

  it('never takes a URI, a host, letters or a + inside', () => {
    for (const raw of [
      'sip:premium-rate@evil.example;transport=tcp',
      'sips:5550100@evil.example',
      'tel:+15550100',
      '5550100@evil.example',
      '5550100;transport=tcp',
      'premium-rate',
      '555+0100',
      '',
      '1'.repeat(33),
      '5550100\r\nVia: x',
    ])
      expect(dialString(raw), raw).toBeNull();
    expect(dialString(null)).toBeNull();
  });
});

describe('dial plan patterns', () => {
  it('X, N, Z, sets and ranges, case-insensitive', () => {
    expect(allowed(['9NXXXXXX'], '95550100')).toBe(true);
    expect(allowed(['9NXXXXXX'], '91550100')).toBe(false); // N is 2-9
    expect(allowed(['9nxxxxxx'], '95550100')).toBe(true);
    expect(allowed(['0Z'], '00')).toBe(false);
    expect(allowed(['0Z'], '09')).toBe(true);
    expect(allowed(['6[1-5]X'], '640')).toBe(true);
    expect(allowed(['6[1-5]X'], '660')).toBe(false);
    expect(allowed(['6[137]'], '63')).toBe(true);
    expect(allowed(['6[137]'], '62')).toBe(false);
    expect(allowed(['*7X#'], '*72#')).toBe(true);
    expect(allowed(['+33.'], '+33142685300')).toBe(true);
  });

  it('is anchored at both ends; a trailing . needs at least one more digit', () => {
    expect(allowed(['9NXXXXXX'], '995550100')).toBe(false);
    expect(allowed(['9NXXXXXX'], '955501001')).toBe(false);
    expect(allowed(['9NXXXXXX'], '9555010')).toBe(false);
    expect(allowed(['00.'], '00')).toBe(false);
    expect(allowed(['00.'], '0044')).toBe(true);
    expect(allowed(['00.'], '10044')).toBe(false);
  });

  it('allows nothing by default but the mailboxes’ own extensions', () => {
    const plan = new DialPlan([]);
    expect(plan.decide('201', EXTENSIONS)).toEqual({
      allowed: true,
      number: '201',
      by: 'extension',
    });
    expect(plan.decide('203', EXTENSIONS)).toEqual({
      allowed: false,
      number: '203',
      reason: 'not-in-dial-plan',
    });
    expect(plan.decide('', EXTENSIONS).allowed).toBe(false);
  });

  it('never accepts a URI, even one whose user part matches or is an extension', () => {
    const plan = new DialPlan(['X.', '9NXXXXXX']);
    for (const raw of [
      'sip:premium-rate@evil.example;transport=tcp',
      'sip:95550100@evil.example',
      'sip:201@evil.example',
      '<sip:201@127.0.0.1>',
      'tel:95550100',
    ])
      expect(plan.decide(raw, EXTENSIONS), raw).toEqual({
        allowed: false,
        number: null,
        reason: 'not-a-number',
      });
  });

  it('refuses patterns that are not patterns, naming them', () => {
    for (const [pattern, why] of [
      ['9.X', /only end/],
      ['.', /digits before/],
      ['6[1-5', /never closed/],
      ['6[]', /not a set/],
      ['6[5-1]', /backwards/],
      ['6[a]', /not a set/],
      ['9NXX@', /"@" is not/],
      ['', /empty/],
    ] as const) {
      let err: unknown;
      try {
        compilePattern(pattern);
      } catch (e) {
        err = e;
      }
      expect(isVoicegateError(err, 'INVALID_INPUT'), pattern).toBe(true);
      expect((err as Error).message).toContain(`"${pattern}"`);
      expect((err as Error).message).toMatch(why);
    }
    expect(() => new DialPlan(['9X', 'Q'])).toThrow(/"Q"/);
  });
});
