import { describe, expect, it } from 'vitest';
import { mailboxChoice } from '../../server/domain/mailbox-choice.ts';

describe("a distributed server's mailboxes", () => {
  it('takes every mailbox when none is named', () => {
    expect(mailboxChoice([])('anyone')).toBe(true);
  });

  it('takes the names and patterns its entry gives, any case, and nothing else', () => {
    const takes = mailboxChoice(['alice', 'paris-*', '*.sales']);
    expect(['alice', 'Alice', 'paris-201', 'PARIS-', 'eu.sales'].map(takes)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(['alicia', 'lyon-201', 'xparis-1', 'eu.salesx', 'eu-sales'].map(takes)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});
