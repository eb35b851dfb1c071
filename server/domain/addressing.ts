/**
 * Which mailbox a mail address names (DESIGN.md, "E-mail modes": receiving). The SMTP listener
 * parses the address and turns refusals into replies; the rule itself is here.
 */
import { VoicegateError } from './errors.ts';
import type { MailboxRecord } from './mailbox.ts';
import type { MailboxStore } from './ports.ts';

/**
 * Server-to-server sync (DESIGN.md, Topology): mail to the central goes to `vmsyncmaster@`,
 * mail from it to `vmsyncslave@`. Only signed mail of configured peers is taken there
 * (`server/domain/peer-trust.ts`); a server without peers refuses both.
 */
export const SYNC_LOCAL_PARTS = ['vmsyncmaster', 'vmsyncslave'] as const;
export type SyncLocalPart = (typeof SYNC_LOCAL_PARTS)[number];

/** The sync address `address` is (for this server's domain), or null for any other. */
export function syncAddressOf(address: MailAddress, serverDomain: string): SyncLocalPart | null {
  const local = address.local.toLowerCase() as SyncLocalPart;
  if (address.domain.toLowerCase() !== serverDomain.toLowerCase()) return null;
  return SYNC_LOCAL_PARTS.includes(local) ? local : null;
}
const EXTN = /^extn(.+)$/i;

export interface MailAddress {
  /** What comes before the last `@`, as written. */
  local: string;
  /** What comes after it; empty when there is none. */
  domain: string;
}

/**
 * The mailbox `address` names, or a refusal: another domain than the server's (never relayed:
 * FORBIDDEN), a sync address (FORBIDDEN), or no such mailbox (NOT_FOUND). Domains compare
 * without case. The local part is, in this order: a name or extension as written; `Extn` (any
 * case) + an extension; a name differing only in case from exactly one mailbox (names are
 * case-sensitive, but mail clients and people are not careful with case).
 */
export async function mailboxOfAddress(
  address: MailAddress,
  serverDomain: string,
  store: Pick<MailboxStore, 'findMailbox' | 'listMailboxes'>,
): Promise<MailboxRecord> {
  const { local, domain } = address;
  if (domain === '' || domain.toLowerCase() !== serverDomain.toLowerCase()) {
    throw new VoicegateError(
      'FORBIDDEN',
      `relay access denied: this server does not relay; it accepts mail only for @${serverDomain}`,
    );
  }
  if ((SYNC_LOCAL_PARTS as readonly string[]).includes(local.toLowerCase())) {
    throw new VoicegateError('FORBIDDEN', 'server-to-server sync is not enabled on this server');
  }
  const written = `${local}@${domain}`;
  // Made only when thrown: an error captures its stack as it is made, and most addresses exist.
  const missing = (): VoicegateError =>
    new VoicegateError('NOT_FOUND', `no such mailbox: ${written}`);
  const find = (ref: string) => {
    // As everywhere a mailbox is named: trailing spaces are not part of a name.
    const key = ref.replace(/ +$/, '');
    return key ? store.findMailbox(key) : Promise.resolve(null);
  };

  const exact = await find(local);
  if (exact) return exact;
  const extension = EXTN.exec(local)?.[1];
  if (extension) {
    const byExtension = await find(extension);
    if (byExtension?.extension === extension) return byExtension;
    throw missing();
  }
  const lower = local.toLowerCase();
  const sameName = (await store.listMailboxes()).filter((m) => m.name.toLowerCase() === lower);
  if (sameName.length === 1) return sameName[0]!;
  if (sameName.length > 1) {
    throw new VoicegateError(
      'NOT_FOUND',
      `no such mailbox: ${written} (several mailbox names differ from it only in case)`,
    );
  }
  throw missing();
}
