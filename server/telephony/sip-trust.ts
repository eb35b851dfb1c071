import { addressList } from '../domain/address-list.ts';
import { isVoicegateError } from '../domain/errors.ts';
import type { MailboxRecord } from '../domain/mailbox.ts';
import type { MailboxService } from '../domain/mailbox-service.ts';
import type { ResponseOptions } from '../sip/api.ts';
import {
  DigestServer,
  type DigestAlgorithm,
  type DigestCheck,
  type Ha1Set,
} from '../sip/digest.ts';
import { getHeaders, type SipRequest } from '../sip/message.ts';

/**
 * Who is who on the SIP side. A configured PBX (`sip.trustedPeers`) is trusted by its address:
 * its caller ID, P-Asserted-Identity included, stands, and it registers and subscribes without
 * digest. A phone is trusted only once it answers a digest challenge with its mailbox's SIP
 * credentials (user name = the extension). Everything else a request says is only a claim.
 */
export class SipTrust {
  readonly #mailboxes: MailboxService;
  readonly #peers: (address: string) => boolean;
  readonly #registerFrom: (address: string) => boolean;
  readonly digest: DigestServer;

  constructor(
    mailboxes: MailboxService,
    opts: {
      trustedPeers: readonly string[];
      registerFrom: readonly string[];
      realm: string;
      algorithms?: readonly DigestAlgorithm[];
    },
  ) {
    this.#mailboxes = mailboxes;
    this.#peers = addressList('sip.trustedPeers', opts.trustedPeers);
    this.#registerFrom = addressList('sip.registerFrom', opts.registerFrom);
    this.digest = new DigestServer({ realm: opts.realm, algorithms: opts.algorithms });
  }

  isTrustedPeer(address: string): boolean {
    return this.#peers(address);
  }

  /** REGISTER and SUBSCRIBE are heard at all only from these networks (and trusted peers). */
  mayRegister(address: string): boolean {
    return this.isTrustedPeer(address) || this.#registerFrom(address);
  }

  /** The mailbox whose extension is `username`, with credentials for our realm, or null. */
  async phoneOf(username: string): Promise<MailboxRecord | null> {
    try {
      const m = await this.#mailboxes.resolve(username);
      return m.extension === username && m.sip?.realm === this.digest.realm ? m : null;
    } catch (err) {
      if (isVoicegateError(err, 'NOT_FOUND') || isVoicegateError(err, 'INVALID_INPUT')) return null;
      throw err;
    }
  }

  /** Whether a mailbox's phone can answer a challenge at all. */
  hasCredentials(mailbox: MailboxRecord): boolean {
    return mailbox.extension !== null && mailbox.sip?.realm === this.digest.realm;
  }

  /** Checks Authorization (or Proxy-Authorization) against the phones' credentials. */
  async verify(req: SipRequest): Promise<DigestCheck> {
    return this.digest.verify(
      {
        method: req.method,
        uri: req.uri,
        authorization: [
          ...getHeaders(req, 'authorization'),
          ...getHeaders(req, 'proxy-authorization'),
        ],
      },
      async (username): Promise<Ha1Set | null> => {
        const m = await this.phoneOf(username);
        return m?.sip ? { MD5: m.sip.ha1Md5, 'SHA-256': m.sip.ha1Sha256 } : null;
      },
    );
  }

  /** A 401 offering SHA-256 and MD5 (stale: the phone's nonce expired, it retries unasked). */
  challenge(stale = false): ResponseOptions {
    return { headers: { 'WWW-Authenticate': this.digest.challenge(stale) } };
  }
}
