import { describe, expect, it } from 'vitest';
import {
  MAX_SKEW_MS,
  newNonce,
  NonceMemory,
  signSync,
  verifySync,
  type SignedFacts,
} from '../../server/domain/peer-trust.ts';

const SECRET = 'a3f1c9e27b5d40e8a3f1c9e27b5d40e8';
const now = Date.UTC(2026, 11, 2, 12);
const body = new TextEncoder().encode('the voicemail');
const facts = (over: Partial<SignedFacts> = {}): SignedFacts => ({
  peer: 'site1',
  to: 'vmsyncmaster',
  kind: 'voicemail',
  messageId: '01JABC@site1',
  timestamp: now,
  nonce: newNonce(),
  ...over,
});
const secretOf = (peer: string): string | null => (peer === 'site1' ? SECRET : null);

function check(f: SignedFacts, signature: string, b = body, nonces = new NonceMemory(), at = now) {
  return () => verifySync(f, signature, b, secretOf, nonces, at);
}

describe('peer trust: a sync mail signed by a configured peer', () => {
  it('verifies what its peer signed', () => {
    const f = facts();
    expect(check(f, signSync(SECRET, f, body))).not.toThrow();
  });

  it.each([
    ['another body', (f: SignedFacts) => [f, new TextEncoder().encode('other')] as const],
    ['another mailbox address', (f: SignedFacts) => [{ ...f, to: 'vmsyncslave' }, body] as const],
    ['another identity', (f: SignedFacts) => [{ ...f, messageId: 'x@site1' }, body] as const],
    ['another time', (f: SignedFacts) => [{ ...f, timestamp: now + 1 }, body] as const],
  ])('refuses one signed for %s', (_what, change) => {
    const f = facts();
    const signature = signSync(SECRET, f, body);
    const [f2, b2] = change(f);
    expect(check(f2, signature, b2)).toThrow(/signature does not match/);
  });

  it('refuses an unknown peer, a bad signature header, and an old or future time', () => {
    const f = facts({ peer: 'intruder' });
    expect(check(f, signSync(SECRET, f, body))).toThrow(/"intruder" is not a configured peer/);
    expect(check(facts(), 'v1=xyz')).toThrow(/no valid signature header/);
    for (const t of [now - MAX_SKEW_MS - 1, now + MAX_SKEW_MS + 1]) {
      const old = facts({ timestamp: t });
      expect(check(old, signSync(SECRET, old, body))).toThrow(/more than 5 minutes/);
    }
  });

  it('refuses a replay: the same nonce twice within the window', () => {
    const f = facts();
    const signature = signSync(SECRET, f, body);
    const nonces = new NonceMemory();
    expect(check(f, signature, body, nonces)).not.toThrow();
    expect(check(f, signature, body, nonces, now + 1000)).toThrow(/received before \(a replay\)/);
  });
});
