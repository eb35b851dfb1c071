import { randomUUID } from 'node:crypto';
import { SYSTEM_ACTOR, type Actor } from './audit.ts';
import type { DomainDeps } from './deps.ts';
import { VoicegateError } from './errors.ts';
import { normalizeEmail, type MailboxRef } from './mailbox.ts';
import { mailFactsOf } from './delivery.ts';
import type { Message } from './message.ts';
import type { MailboxService } from './mailbox-service.ts';
import { cleanCallerText, type MessageDeposits } from './message-deposit.ts';
import type { MessageReader } from './message-reading.ts';

/** Sending voicemail on: to another mailbox, to any e-mail address, a recording by e-mail. */
export class MessageForwarding {
  readonly #deps: DomainDeps;
  readonly #mailboxes: MailboxService;
  readonly #reader: MessageReader;
  readonly #deposits: MessageDeposits;
  constructor(
    deps: DomainDeps,
    mailboxes: MailboxService,
    reader: MessageReader,
    deposits: MessageDeposits,
  ) {
    this.#deps = deps;
    this.#mailboxes = mailboxes;
    this.#reader = reader;
    this.#deposits = deposits;
  }

  #now(): number {
    return this.#deps.now?.() ?? Date.now();
  }

  /**
   * Copies messages, as new, into another mailbox (or its group members): all of them in one
   * commit, or none when any is private or not this mailbox's.
   */
  async forward(mailboxId: number, ids: string | string[], targetRef: string): Promise<Message[]> {
    const messages = await Promise.all(
      [...new Set([ids].flat())].map((id) => this.#reader.get(mailboxId, id)),
    );
    if (messages.some((m) => m.private))
      throw new VoicegateError('FORBIDDEN', 'a private message cannot be forwarded');
    const target = await this.#mailboxes.resolve(targetRef);
    if (target.id === mailboxId)
      throw new VoicegateError('INVALID_INPUT', 'cannot forward a message to its own mailbox');
    const source = await this.#deps.store.getMailbox(mailboxId);
    // A forward is a new voicemail, made here: forwarding it again gives another one.
    const copies = messages.map((m) => ({
      ...mailFactsOf(m),
      identity: this.#deposits.newIdentity(),
      kind: m.kind,
      originServer: m.originServer,
      forwardedFrom: source?.name ?? null,
    }));
    return this.#deposits.addTo(target, copies);
  }

  /** A user's "forward to e-mail": any address, never a private message. */
  async forwardToEmail(
    mailboxId: number,
    id: string,
    address: string,
    actor: Actor = SYSTEM_ACTOR,
  ): Promise<void> {
    const message = await this.#reader.get(mailboxId, id);
    if (message.private)
      throw new VoicegateError('FORBIDDEN', 'a private message cannot be forwarded');
    const recipient = normalizeEmail(address);
    if (!recipient) throw new VoicegateError('INVALID_INPUT', 'an e-mail address is needed');
    await this.#deps.store.queueDelivery(
      {
        // A copy of the voicemail: it keeps its identity (the mail's Message-ID).
        voicemailId: randomUUID(),
        ...mailFactsOf(message),
        target: 'smtp',
        kind: 'manual',
        mailboxId,
        recipient,
        messageId: message.id,
      },
      this.#now(),
    );
    this.#deps.onDeliveryQueued?.();
    await this.#mailboxes.audit.record({
      kind: 'forward-email',
      actor,
      mailbox: (await this.#deps.store.getMailbox(mailboxId))?.name ?? null,
      details: { message: message.id, recipient },
    });
  }

  /**
   * Mails a recording that is not a stored message (a call flow's recorded answer) to any
   * address, through the delivery queue like every voicemail mail. `mailboxRef` is the mailbox the mail
   * is sent for (its name and sender); `to` defaults to that mailbox's own address.
   */
  async emailRecording(
    mailboxRef: MailboxRef,
    to: string | null,
    audio: Uint8Array,
    facts: { callerNumber?: string | null; callerName?: string | null } = {},
  ): Promise<{ recipient: string; voicemailId: string }> {
    const mailbox = await this.#mailboxes.resolve(mailboxRef);
    const recipient = normalizeEmail(to ?? mailbox.email);
    if (!recipient)
      throw new VoicegateError('INVALID_INPUT', `mailbox "${mailbox.name}" has no e-mail address`);
    const info = this.#deps.inspectAudio(audio);
    const key = await this.#deps.audio.put(audio);
    const voicemailId = randomUUID();
    try {
      await this.#deps.store.queueDelivery(
        {
          voicemailId,
          identity: this.#deposits.newIdentity(),
          callerNumber: cleanCallerText(facts.callerNumber, 64),
          callerName: cleanCallerText(facts.callerName, 128),
          receivedAt: this.#now(),
          audio: { key, format: info.format, bytes: audio.byteLength, durationMs: info.durationMs },
          priority: 'normal',
          private: false,
          target: 'smtp',
          kind: 'manual',
          mailboxId: mailbox.id,
          recipient,
          messageId: null,
        },
        this.#now(),
      );
    } catch (err) {
      await this.#deps.audio.remove([key]).catch(() => {});
      throw err;
    }
    this.#deps.log.info({ mailboxId: mailbox.id, kind: 'manual' }, 'e-mail queued');
    this.#deps.onDeliveryQueued?.();
    return { recipient, voicemailId };
  }
}
