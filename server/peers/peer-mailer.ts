import type nodemailer from 'nodemailer';
import { newNonce, signSync, type SignedFacts, type SyncKind } from '../domain/peer-trust.ts';
import type { Peer, PeerSet } from './peer-set.ts';
import { signedBody, syncMail } from './sync-mail.ts';

/** An SMTP failure as nodemailer reports it. */
export type SmtpError = Error & { code?: string; responseCode?: number; response?: string };

/**
 * Signed sync mail to the peers: one pooled SMTP connection per peer, STARTTLS required unless
 * the peer's entry says plainText. To the central it goes to `vmsyncmaster@`, to any other peer
 * to `vmsyncslave@`.
 */
export class PeerMailer {
  readonly #peers: PeerSet;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #transports = new Map<string, ReturnType<typeof nodemailer.createTransport>>();

  constructor(peers: PeerSet, timeoutMs: number, now: () => number = Date.now) {
    this.#peers = peers;
    this.#timeoutMs = timeoutMs;
    this.#now = now;
  }

  #transport(mailer: typeof nodemailer, peer: Peer) {
    let t = this.#transports.get(peer.name);
    if (t) return t;
    const limit = Math.max(1000, Math.round(this.#timeoutMs * 0.8));
    t = mailer.createTransport({
      pool: true,
      maxConnections: 1,
      host: peer.host,
      port: peer.port,
      name: this.#peers.self.name,
      requireTLS: !peer.plainText,
      ignoreTLS: false,
      tls: { minVersion: 'TLSv1.2', ...(peer.ca ? { ca: peer.ca } : {}) },
      connectionTimeout: Math.min(30_000, limit),
      greetingTimeout: Math.min(30_000, limit),
      socketTimeout: Math.min(60_000, limit),
    });
    this.#transports.set(peer.name, t);
    return t;
  }

  /** Sends one sync mail; resolves with the peer's reply to it, rejects with an SmtpError. */
  async send(
    peer: Peer,
    kind: SyncKind,
    messageId: string,
    mail: { body: Buffer; contentType: string },
  ): Promise<string> {
    const self = this.#peers.self;
    const to = peer.role === 'central' ? 'vmsyncmaster' : 'vmsyncslave';
    const facts: SignedFacts = {
      peer: self.name,
      to,
      kind,
      messageId,
      timestamp: this.#now(),
      nonce: newNonce(),
    };
    const from = `vmsyncslave@${self.domain}`;
    const toAddress = `${to}@${peer.domain || self.domain}`;
    const raw = syncMail(
      { ...facts, from, toAddress },
      signSync(peer.secret, facts, signedBody(mail.body)),
      mail.contentType,
      mail.body,
    );
    // nodemailer (about 10 MiB of a server's memory) loads with the first sync mail sent.
    const mailer = (await import('nodemailer')).default;
    const info = await this.#transport(mailer, peer).sendMail({
      envelope: { from, to: [toAddress] },
      raw,
    });
    return String(info.response);
  }

  close(): void {
    for (const t of this.#transports.values()) t.close();
    this.#transports.clear();
  }
}
