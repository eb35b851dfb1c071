import { VoicegateError, isVoicegateError } from '../domain/errors.ts';
import type { MailboxService } from '../domain/mailbox-service.ts';

/** Reserved for server-to-server sync (DESIGN.md, Topology), which this server does not do yet. */
const SYNC_ADDRESSES = new Set(['vmsyncmaster', 'vmsyncslave']);
const EXTN = /^extn(.+)$/i;

/**
 * The mailbox (its name) a recipient address means, or a refusal: another domain (never
 * relayed), the sync addresses, or no such mailbox. The local part is, in this order, a name or
 * extension as written, `Extn` + an extension, or a name differing only in case from exactly
 * one mailbox (names are case-sensitive, but mail clients and people are not careful with case).
 */
export async function resolveRecipient(
  address: string,
  domain: string,
  mailboxes: Pick<MailboxService, 'resolve' | 'list'>,
): Promise<string> {
  const at = address.lastIndexOf('@');
  const local = at > 0 ? address.slice(0, at) : '';
  const rcptDomain = at > 0 ? address.slice(at + 1) : '';
  if (rcptDomain.toLowerCase() !== domain.toLowerCase()) {
    throw new VoicegateError(
      'FORBIDDEN',
      `relay access denied: this server does not relay; it accepts mail only for @${domain}`,
    );
  }
  if (SYNC_ADDRESSES.has(local.toLowerCase())) {
    throw new VoicegateError('FORBIDDEN', 'server-to-server sync is not enabled on this server');
  }
  const missing = new VoicegateError('NOT_FOUND', `no such mailbox: ${address}`);

  const exact = await find(mailboxes, local);
  if (exact) return exact.name;
  const extension = EXTN.exec(local)?.[1];
  if (extension) {
    const byExtension = await find(mailboxes, extension);
    if (byExtension?.extension === extension) return byExtension.name;
    throw missing;
  }
  const lower = local.toLowerCase();
  const sameName = (await mailboxes.list()).filter((m) => m.name.toLowerCase() === lower);
  if (sameName.length === 1) return sameName[0]!.name;
  if (sameName.length > 1) {
    throw new VoicegateError(
      'NOT_FOUND',
      `no such mailbox: ${address} (several mailbox names differ from it only in case)`,
    );
  }
  throw missing;
}

async function find(
  mailboxes: Pick<MailboxService, 'resolve'>,
  ref: string,
): Promise<{ name: string; extension: string | null } | null> {
  try {
    return await mailboxes.resolve(ref);
  } catch (err) {
    if (isVoicegateError(err, 'NOT_FOUND')) return null;
    throw err;
  }
}
