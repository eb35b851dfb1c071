import { describe, expect, it } from 'vitest';
import { isVoicegateError } from '../../server/domain/errors.ts';
import { checkCode, checkMessageLength, DEFAULT_POLICY } from '../../server/domain/policy.ts';
import { housekeepingDue } from '../../server/domain/housekeeping.ts';
import { normalizeName, normalizeExtension, numberToRing } from '../../server/domain/mailbox.ts';
import { hashCode, verifyCode } from '../../server/domain/code-hash.ts';
import { sortForPlayback } from '../../server/domain/message.ts';

const policy = {
  ...DEFAULT_POLICY,
  minCodeLength: 4,
  minMessageSeconds: 2,
  maxMessageSeconds: 120,
};

function code(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    return isVoicegateError(err) ? err.code : 'OTHER';
  }
  return undefined;
}

describe('codes', () => {
  it('enforces digits and the minimum length', () => {
    expect(code(() => checkCode('1234', policy))).toBeUndefined();
    expect(code(() => checkCode('123', policy))).toBe('INVALID_INPUT');
    expect(code(() => checkCode('12a4', policy))).toBe('INVALID_INPUT');
    expect(code(() => checkCode('', { ...policy, minCodeLength: 0 }))).toBeUndefined();
    expect(code(() => checkCode('1'.repeat(33), policy))).toBe('INVALID_INPUT');
  });

  it('hashes with a salt and verifies only the right code', async () => {
    const cost = { N: 1024, r: 8, p: 1 };
    const a = await hashCode('4711', cost);
    const b = await hashCode('4711', cost);
    expect(a).not.toBe(b);
    expect(a).not.toContain('4711');
    expect(a.startsWith('scrypt$1024$8$1$')).toBe(true);
    expect(await verifyCode('4711', a)).toBe(true);
    expect(await verifyCode('4712', a)).toBe(false);
    expect(await verifyCode('4711', 'garbage')).toBe(false);
  });
});

describe('message length', () => {
  it('refuses too short and too long recordings', () => {
    expect(code(() => checkMessageLength(1999, policy))).toBe('TOO_SHORT');
    expect(code(() => checkMessageLength(2000, policy))).toBeUndefined();
    expect(code(() => checkMessageLength(120_000, policy))).toBeUndefined();
    expect(code(() => checkMessageLength(120_001, policy))).toBe('TOO_LONG');
  });
});

describe('housekeeping rules', () => {
  const H = 3_600_000;
  const rules = {
    deleteAfterHours: { new: 0, unopened: 48, old: 24, saved: 0 },
    purgeDeletedAfterHours: 12,
  };
  const now = 1000 * H;

  it('deletes each category after its hours and purges deleted ones after theirs', () => {
    const items = [
      { id: 'new-ancient', state: 'new' as const, stateChangedAt: now - 5000 * H },
      { id: 'old-25h', state: 'old' as const, stateChangedAt: now - 25 * H },
      { id: 'old-23h', state: 'old' as const, stateChangedAt: now - 23 * H },
      { id: 'unopened-49h', state: 'unopened' as const, stateChangedAt: now - 49 * H },
      { id: 'saved-ancient', state: 'saved' as const, stateChangedAt: now - 5000 * H },
      { id: 'deleted-13h', state: 'deleted' as const, stateChangedAt: now - 13 * H },
      { id: 'deleted-11h', state: 'deleted' as const, stateChangedAt: now - 11 * H },
    ];
    expect(housekeepingDue(items, rules, now)).toEqual({
      toDelete: ['old-25h', 'unopened-49h'],
      toPurge: ['deleted-13h'],
    });
  });

  it('0 hours means never, for deleted too', () => {
    const items = [{ id: 'd', state: 'deleted' as const, stateChangedAt: 0 }];
    expect(housekeepingDue(items, { ...rules, purgeDeletedAfterHours: 0 }, now).toPurge).toEqual(
      [],
    );
  });
});

describe('names and order', () => {
  it('keeps case, removes trailing spaces only', () => {
    expect(normalizeName('Alice  ')).toBe('Alice');
    expect(normalizeName('alice')).not.toBe(normalizeName('Alice'));
    expect(code(() => normalizeName('   '))).toBe('INVALID_INPUT');
    expect(code(() => normalizeName(' alice'))).toBe('INVALID_INPUT');
    expect(code(() => normalizeName('a@b'))).toBe('INVALID_INPUT');
    expect(normalizeExtension(' 201 ')).toBe('201');
    expect(code(() => normalizeExtension('20a'))).toBe('INVALID_INPUT');
  });

  it('plays oldest first in FIFO and newest first in LIFO', () => {
    const list = [
      { id: 'b', receivedAt: 2 },
      { id: 'a', receivedAt: 1 },
      { id: 'c', receivedAt: 3 },
    ];
    expect(sortForPlayback(list, 'fifo').map((m) => m.id)).toEqual(['a', 'b', 'c']);
    expect(sortForPlayback(list, 'lifo').map((m) => m.id)).toEqual(['c', 'b', 'a']);
  });
});

describe('play on my phone', () => {
  const mailbox = { extension: '201', trustedNumbers: ['+33612345678'] };
  it("rings the mailbox's extension, or one of its trusted numbers, and nothing else", () => {
    expect(numberToRing(mailbox)).toBe('201');
    expect(numberToRing(mailbox, '+33612345678')).toBe('+33612345678');
    expect(() => numberToRing(mailbox, '0900123456')).toThrow(/trusted numbers/);
    expect(() => numberToRing({ extension: null, trustedNumbers: [] })).toThrow(/no extension/);
  });
});
