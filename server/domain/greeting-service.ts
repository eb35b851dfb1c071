import type { DomainDeps } from './deps.ts';
import { VoicegateError } from './errors.ts';
import type { GreetingKind, MailboxRef } from './mailbox.ts';
import type { Greeting } from './message.ts';
import { peerGreetingWins, type PeerGreeting } from './greeting-merge.ts';
import type { MailboxService } from './mailbox-service.ts';

/** A mailbox's recorded greetings: set, removed, listed, played, and a peer's change merged. */
export class GreetingService {
  readonly #deps: DomainDeps;
  readonly #mailboxes: MailboxService;
  constructor(deps: DomainDeps, mailboxes: MailboxService) {
    this.#deps = deps;
    this.#mailboxes = mailboxes;
  }

  #now(): number {
    return this.#deps.now?.() ?? Date.now();
  }

  async setGreeting(
    mailboxRef: MailboxRef,
    kind: GreetingKind,
    audio: Uint8Array,
  ): Promise<Greeting> {
    const mailbox = await this.#mailboxes.resolve(mailboxRef);
    const info = this.#deps.inspectAudio(audio);
    if (info.durationMs > this.#deps.policy.maxMessageSeconds * 1000) {
      throw new VoicegateError(
        'TOO_LONG',
        `a greeting is at most ${this.#deps.policy.maxMessageSeconds} s long`,
      );
    }
    const key = await this.#deps.audio.put(audio);
    const ref = { key, format: info.format, bytes: audio.byteLength, durationMs: info.durationMs };
    const at = this.#now();
    const replaced = await this.#deps.store.setGreeting(mailbox.id, kind, ref, at);
    await this.#deps.audio.remove(replaced);
    this.#deps.observe?.({ event: 'greeting', mailbox: mailbox.name, kind, change: 'set', at });
    return { mailboxId: mailbox.id, kind, audio: ref, updatedAt: at };
  }

  async removeGreeting(mailboxRef: MailboxRef, kind: GreetingKind): Promise<void> {
    const mailbox = await this.#mailboxes.resolve(mailboxRef);
    const at = this.#now();
    await this.#deps.audio.remove(await this.#deps.store.removeGreeting(mailbox.id, kind, at));
    this.#deps.observe?.({ event: 'greeting', mailbox: mailbox.name, kind, change: 'removed', at });
  }

  async greetings(mailboxRef: MailboxRef): Promise<Greeting[]> {
    const mailbox = await this.#mailboxes.resolve(mailboxRef);
    return this.#deps.store.listGreetings(mailbox.id);
  }

  /** The audio callers hear as a mailbox's greeting (`kind`, else its active one); null if none. */
  async greetingAudio(mailboxRef: MailboxRef, kind?: GreetingKind): Promise<Uint8Array | null> {
    const mailbox = await this.#mailboxes.resolve(mailboxRef);
    const wanted = kind ?? mailbox.activeGreeting;
    const greeting = (await this.#deps.store.listGreetings(mailbox.id)).find(
      (g) => g.kind === wanted,
    );
    return greeting ? this.#deps.audio.read(greeting.audio.key) : null;
  }

  /**
   * A greeting a peer set (`audio`) or removed (`change.removed`, audio null) while it served in
   * this server's place (a backup handing back): applied when it is the later change
   * (`peerGreetingWins`), else the one here stands. A removal of a greeting this server does
   * not have changes nothing.
   */
  async applyPeerGreeting(
    change: PeerGreeting,
    audio: Uint8Array | null,
  ): Promise<'changed' | 'removed' | 'kept'> {
    const mailbox = await this.#mailboxes.resolve(change.mailbox);
    const here =
      (await this.#deps.store.listGreetings(mailbox.id)).find((g) => g.kind === change.kind) ??
      null;
    if (change.removed || audio === null) {
      if (here === null || !peerGreetingWins(here, change)) return 'kept';
      await this.removeGreeting(mailbox.name, change.kind);
      return 'removed';
    }
    if (!peerGreetingWins(here, change)) return 'kept';
    await this.setGreeting(mailbox.name, change.kind, audio);
    return 'changed';
  }
}
