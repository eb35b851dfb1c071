import { BlockList, isIP } from 'node:net';
import { VoicegateError } from '../domain/errors.ts';

/**
 * `smtp.allowedPeers` (IP addresses and CIDR ranges) as a check of a client's address; an empty
 * list allows everyone. A bad entry fails start-up naming the key.
 */
export function peerFilter(entries: string[]): ((address: string) => boolean) | null {
  if (entries.length === 0) return null;
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
        `smtp.allowedPeers: "${entry}" is not an IP address or a CIDR range (like 10.0.0.0/8)`,
      );
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === null) list.addAddress(ip, type);
    else list.addSubnet(ip, bits, type);
  }
  return (address) => {
    // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d.
    const plain = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
    const family = isIP(plain);
    return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  };
}
