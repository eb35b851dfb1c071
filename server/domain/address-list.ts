import { BlockList, isIP } from 'node:net';
import { VoicegateError } from './errors.ts';

/** A client address in its plain form: an IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d. */
export function plainAddress(address: string): string {
  return address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
}

/**
 * A config list of IP addresses and CIDR ranges (`smtp.allowedPeers`, `sip.trustedPeers`,
 * `http.trustProxy`...) as a check of a client's address. A bad entry is an INVALID_INPUT
 * error naming the key, so start-up fails with a reason rather than trusting the wrong hosts.
 */
export function addressList(key: string, entries: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const [ip = '', prefix, extra] = entry.trim().split('/');
    const family = isIP(ip);
    const bits = prefix === undefined ? null : Number(prefix);
    const max = family === 4 ? 32 : 128;
    if (
      family === 0 ||
      extra !== undefined ||
      (bits !== null && (!/^[0-9]+$/.test(prefix!) || bits > max))
    ) {
      throw new VoicegateError(
        'INVALID_INPUT',
        `${key}: "${entry}" is not an IP address or a CIDR range (like 10.0.0.0/8)`,
      );
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === null) list.addAddress(ip, type);
    else list.addSubnet(ip, bits, type);
  }
  return (address) => {
    const plain = plainAddress(address);
    const family = isIP(plain);
    return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  };
}
