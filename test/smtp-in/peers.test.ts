import { describe, expect, it } from 'vitest';
import { peerFilter } from '../../server/smtp-in/peers.ts';

describe('smtp.allowedPeers', () => {
  it('allows everyone when empty', () => {
    expect(peerFilter([])).toBeNull();
  });

  it('matches addresses and CIDR ranges of both families, IPv4 seen through IPv6', () => {
    const allowed = peerFilter(['192.0.2.7', '10.0.0.0/8', '2001:db8::/32'])!;
    expect(allowed('192.0.2.7')).toBe(true);
    expect(allowed('192.0.2.8')).toBe(false);
    expect(allowed('10.200.1.1')).toBe(true);
    expect(allowed('::ffff:10.1.2.3')).toBe(true);
    expect(allowed('2001:db8:1::5')).toBe(true);
    expect(allowed('2001:db9::5')).toBe(false);
    expect(allowed('not an address')).toBe(false);
  });

  it('fails naming the key for an entry that is neither', () => {
    for (const bad of ['mail.example.com', '10.0.0.0/33', '10.0.0.0/8/1', '10.0.0.0/x']) {
      expect(() => peerFilter([bad])).toThrow(`smtp.allowedPeers: "${bad}" is not an IP address`);
    }
  });
});
