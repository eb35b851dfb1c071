import nodemailer from 'nodemailer';
import type { Delivery, DeliveryResult, DeliveryTarget } from '../domain/delivery.ts';
import { newNonce, signSync, type SignedFacts } from '../domain/peer-trust.ts';
import type { AudioStore } from '../domain/ports.ts';
import type { PeerSet, Peer } from './peer-set.ts';
import { signedBody, syncMail, voicemailBody } from './sync-mail.ts';

export interface PeerTargetOptions {
  peers: PeerSet;
  audio: Pick<AudioStore, 'read'>;
  /** `delivery.targets.peer.timeoutSeconds`, in ms: SMTP's own waits end before it. */
  timeoutMs: number;
  /** `topology.retrySeconds`, in ms. */
  retryMs: number;
  now?: () => number;
}

type SmtpError = Error & { code?: string; responseCode?: number; response?: string };

/**
 * Voicemail to another Voicegate server (a distributed server's messages to the central), as
 * signed sync mail over SMTP, with STARTTLS required unless the peer's entry says plainText.
 * The queue releases the local copy only after the peer's 250, which it says once the
 * voicemail is stored there.
 *
 * Order: with one delivery at a time (`delivery.targets.peer.concurrency: 1`), a peer that does
 * not answer makes every mail to it wait until one moment on a grid of `retrySeconds`, and mail
 * queued meanwhile waits for that same moment; the queue then takes them by age, so they
 * arrive in the order they were recorded.
 */
export class PeerTarget implements DeliveryTarget {
  readonly kind = 'peer';
  readonly #o: PeerTargetOptions;
  readonly #transports = new Map<string, ReturnType<typeof nodemailer.createTransport>>();
  /** Per peer: mail to it waits until then (it did not answer). */
  readonly #waitUntil = new Map<string, number>();

  constructor(opts: PeerTargetOptions) {
    this.#o = opts;
  }

  #now(): number {
    return this.#o.now?.() ?? Date.now();
  }

  #transport(peer: Peer) {
    let t = this.#transports.get(peer.name);
    if (t) return t;
    const limit = Math.max(1000, Math.round(this.#o.timeoutMs * 0.8));
    t = nodemailer.createTransport({
      pool: true,
      maxConnections: 1,
      host: peer.host,
      port: peer.port,
      name: this.#o.peers.self.name,
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

  close(): void {
    for (const t of this.#transports.values()) t.close();
    this.#transports.clear();
  }

  /** Waits of the mail to `peer`: to the next point of the grid, the same for every mail. */
  #hold(peer: string, reason: string): DeliveryResult {
    const now = this.#now();
    const grid = this.#o.retryMs;
    const held = this.#waitUntil.get(peer);
    const until = held !== undefined && held > now ? held : Math.ceil((now + 1) / grid) * grid;
    this.#waitUntil.set(peer, until);
    return { status: 'retry', reason, at: until };
  }

  async deliver(item: Delivery): Promise<DeliveryResult> {
    const name = String(item.payload?.peer ?? '');
    const peer = this.#o.peers.get(name);
    if (!peer) return { status: 'retry', reason: `no peer "${name}" in topology` };
    const waiting = this.#waitUntil.get(name);
    if (waiting !== undefined && this.#now() < waiting)
      return this.#hold(name, `waiting for ${name} (it did not answer)`);
    const { body, contentType } = voicemailBody(
      {
        mailbox: item.recipient,
        callerNumber: item.callerNumber,
        callerName: item.callerName,
        receivedAt: item.receivedAt,
        priority: item.priority,
        private: item.private,
        ...(item.payload?.mailed === true ? { mailed: true } : {}),
      },
      await this.#o.audio.read(item.audio.key),
    );
    const to = peer.role === 'central' ? 'vmsyncmaster' : 'vmsyncslave';
    const facts: SignedFacts = {
      peer: this.#o.peers.self.name,
      to,
      kind: 'voicemail',
      messageId: item.identity,
      timestamp: this.#now(),
      nonce: newNonce(),
    };
    const from = `vmsyncslave@${this.#o.peers.self.domain}`;
    const toAddress = `${to}@${peer.domain || this.#o.peers.self.domain}`;
    const raw = syncMail(
      { ...facts, from, toAddress },
      signSync(peer.secret, facts, signedBody(body)),
      contentType,
      body,
    );
    try {
      const info = await this.#transport(peer).sendMail({
        envelope: { from, to: [toAddress] },
        raw,
      });
      this.#waitUntil.delete(name);
      return { status: 'ok', detail: `${name}: ${info.response}` };
    } catch (err) {
      const e = err as SmtpError;
      const reason = `${name} (${peer.host}:${peer.port}): ${e.response ?? e.message}`;
      // Refused for good (no such mailbox there, audio it cannot take): kept here instead.
      // A refused signature or TLS is a set-up to fix: the mail waits, as for a peer down.
      const code = e.responseCode ?? 0;
      if (
        (e.code === 'EENVELOPE' || e.code === 'EMESSAGE') &&
        code >= 500 &&
        code !== 530 &&
        code !== 535
      )
        return { status: 'fail', reason };
      return this.#hold(name, reason);
    }
  }
}
