import type { Delivery, DeliveryResult, DeliveryTarget } from '../domain/delivery.ts';
import type { AudioStore } from '../domain/ports.ts';
import { PeerMailer, type SmtpError } from './peer-mailer.ts';
import type { Peer, PeerSet } from './peer-set.ts';
import { stateBody, voicemailBody } from './sync-mail.ts';
import { checkPeerState } from '../domain/state-merge.ts';

export interface PeerTargetOptions {
  peers: PeerSet;
  audio: Pick<AudioStore, 'read'>;
  /** `delivery.targets.peer.timeoutSeconds`, in ms: SMTP's own waits end before it. */
  timeoutMs: number;
  /** `topology.retrySeconds`, in ms. */
  retryMs: number;
  now?: () => number;
}

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
  readonly #mailer: PeerMailer;
  /** Per peer: mail to it waits until then (it did not answer). */
  readonly #waitUntil = new Map<string, number>();

  constructor(opts: PeerTargetOptions) {
    this.#o = opts;
    this.#mailer = new PeerMailer(opts.peers, opts.timeoutMs, () => this.#now());
  }

  #now(): number {
    return this.#o.now?.() ?? Date.now();
  }

  close(): void {
    this.#mailer.close();
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
    if (item.kind === 'update') return this.#send(name, peer, 'state', item, stateMail(item));
    return this.#send(name, peer, 'voicemail', item, await this.#voicemail(item));
  }

  async #voicemail(item: Delivery): Promise<{ body: Buffer; contentType: string }> {
    return voicemailBody(
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
  }

  async #send(
    name: string,
    peer: Peer,
    kind: 'voicemail' | 'state',
    item: Delivery,
    mail: { body: Buffer; contentType: string },
  ): Promise<DeliveryResult> {
    try {
      const response = await this.#mailer.send(peer, kind, item.identity, mail);
      this.#waitUntil.delete(name);
      return { status: 'ok', detail: `${name}: ${response}` };
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

/** A state change (`queueStateChanges`, `backupUpdatesFor`): its facts are in the payload. */
function stateMail(item: Delivery): { body: Buffer; contentType: string } {
  const p = item.payload ?? {};
  return stateBody({
    mailbox: item.recipient,
    ...checkPeerState({
      state: p.state,
      deletedFrom: p.deletedFrom ?? null,
      changedAt: p.changedAt,
      server: p.server,
      undoes: p.undoes ?? null,
      purged: p.purged ?? false,
    }),
  });
}
