import type { MailAddress } from '../domain/addressing.ts';
import type { MailboxService } from '../domain/mailbox-service.ts';

/** An envelope address split at its last `@`; an address without a local part has no domain. */
export function parseAddress(address: string): MailAddress {
  const at = address.lastIndexOf('@');
  return at > 0
    ? { local: address.slice(0, at), domain: address.slice(at + 1) }
    : { local: '', domain: '' };
}

/**
 * The mailbox (its name) a recipient address means. Which local part names which mailbox, and
 * what is refused, is the domain's rule (`mailboxOfAddress`, server/domain/addressing.ts); the
 * refusals reach the client through replies.ts.
 */
export async function resolveRecipient(
  address: string,
  domain: string,
  mailboxes: Pick<MailboxService, 'byAddress'>,
): Promise<string> {
  return (await mailboxes.byAddress(parseAddress(address), domain)).name;
}
