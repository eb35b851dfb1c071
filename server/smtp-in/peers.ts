import { addressList } from '../domain/address-list.ts';

/**
 * `smtp.allowedPeers` (IP addresses and CIDR ranges) as a check of a client's address; an empty
 * list allows everyone. A bad entry fails start-up naming the key.
 */
export function peerFilter(entries: string[]): ((address: string) => boolean) | null {
  return entries.length === 0 ? null : addressList('smtp.allowedPeers', entries);
}
