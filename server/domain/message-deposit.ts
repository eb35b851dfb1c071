import type { DepositChannel } from './observe.ts';
import { randomUUID } from 'node:crypto';
import type { DomainDeps } from './deps.ts';
import { checkIdentity, newIdentity } from './identity.ts';
import { emailDelivery } from './email-settings.ts';
import { exchangeDestination } from './exchange.ts';
import type { MailboxRecord, MailboxRef } from './mailbox.ts';
import { mailFactsOf, type Delivery, type NewDelivery } from './delivery.ts';
import type { Message, MessageKind, NewMessage, Priority } from './message.ts';
import { checkMessageLength } from './policy.ts';
import type { MailboxService } from './mailbox-service.ts';

export interface DepositInput {
  mailbox: MailboxRef;
  audio: Uint8Array;
  callerNumber?: string | null;
  callerName?: string | null;
  kind?: MessageKind;
  priority?: Priority;
  private?: boolean;
  receivedAt?: number;
  originServer?: string;
  /**
   * The voicemail's global identity when it arrives with one (a mail's Message-ID, a peer's
   * copy): a deposit made before under it into the same mailbox is acknowledged and not stored
   * again. Without one, the voicemail gets a new identity.
   */
  identity?: string;
  /** Where it came from, for the deposits counted by channel. */
  channel?: DepositChannel;
  /**
   * Its e-mail, alerts and Exchange copy were sent already, by the backup that recorded it
   * while live: it is kept here, and nothing is sent again.
   */
  mailed?: boolean;
  /**
   * A copy of a message the central stored (on its backup, with `topology.syncMessages`): kept
   * in this mailbox as it is; the central expanded the group and sent its mail.
   */
  copyOfCentral?: boolean;
}

/** Caller data is untrusted: keep it short and free of control characters. */
export function cleanCallerText(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  const clean = value
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .trim()
    .slice(0, max);
  return clean === '' ? null : clean;
}

/**
 * Storing a new voicemail: into its mailbox or a broadcast group's members, with the mails and
 * copies its settings ask for, or queued for the central on a distributed server.
 */
export class MessageDeposits {
  readonly #deps: DomainDeps;
  readonly #mailboxes: MailboxService;
  constructor(deps: DomainDeps, mailboxes: MailboxService) {
    this.#deps = deps;
    this.#mailboxes = mailboxes;
  }

  #now(): number {
    return this.#deps.now?.() ?? Date.now();
  }

  /** The identity of a voicemail that starts here. */
  newIdentity(): string {
    return newIdentity(this.#deps.newVoicemailId(), this.#deps.serverName);
  }

  /**
   * Stores a new voicemail. Returns only once the audio and the record are durable. A message for
   * a hunt group with broadcast on is copied to each member instead. A voicemail whose identity
   * was deposited into the mailbox before is not stored again: the messages stored then, if
   * they still exist, are returned.
   */
  async deposit(input: DepositInput): Promise<Message[]> {
    const identity =
      input.identity === undefined ? this.newIdentity() : checkIdentity(input.identity);
    const mailbox = await this.#mailboxes.resolve(input.mailbox);
    const info = this.#deps.inspectAudio(input.audio);
    if ((input.kind ?? 'message') === 'message')
      checkMessageLength(info.durationMs, this.#deps.policy);
    const key = await this.#deps.audio.put(input.audio);
    const base: Omit<NewMessage, 'id' | 'mailboxId'> = {
      identity,
      kind: input.kind ?? 'message',
      callerNumber: cleanCallerText(input.callerNumber, 64),
      callerName: cleanCallerText(input.callerName, 128),
      receivedAt: input.receivedAt ?? this.#now(),
      audio: {
        key,
        format: info.format,
        bytes: input.audio.byteLength,
        durationMs: info.durationMs,
      },
      priority: input.priority ?? 'normal',
      private: input.private ?? false,
      originServer: input.originServer ?? this.#deps.serverName,
      forwardedFrom: null,
    };
    let stored: Message[];
    try {
      stored = await this.addTo(mailbox, base, {
        mailed: input.mailed === true,
        copyOfCentral: input.copyOfCentral === true,
      });
    } catch (err) {
      await this.#deps.audio.remove([key]).catch(() => {});
      throw err;
    }
    this.#deps.observe?.({ event: 'deposit', channel: input.channel ?? 'other' });
    return stored;
  }

  /**
   * Adds a message to a mailbox, or to each member of a broadcast hunt group, as each one's
   * e-mail mode says: kept, kept and mailed (copy, alert), or only mailed (forward). The
   * messages and the mails are committed together.
   */
  async addTo(
    mailbox: MailboxRecord,
    bases: Omit<NewMessage, 'id' | 'mailboxId'> | Omit<NewMessage, 'id' | 'mailboxId'>[],
    sent: { mailed?: boolean; copyOfCentral?: boolean } = {},
  ): Promise<Message[]> {
    const { mailed = false, copyOfCentral = false } = sent;
    const all = Array.isArray(bases) ? bases : [bases];
    // A copy of the central's message is the backup's to keep, live or not.
    if (this.#deps.central && !copyOfCentral && !this.#deps.keepsMessages?.())
      return this.#toCentral(mailbox, all, this.#deps.central);
    let targets = [mailbox];
    if (mailbox.kind === 'group' && mailbox.broadcast && !copyOfCentral) {
      const ids = await this.#deps.store.groupMembers(mailbox.id);
      const members = (await Promise.all(ids.map((id) => this.#deps.store.getMailbox(id)))).filter(
        (m): m is MailboxRecord => m !== null,
      );
      if (members.length > 0) targets = members;
    }
    const messages: NewMessage[] = [];
    const mails: NewDelivery[] = [];
    for (const base of all)
      for (const target of targets) {
        const id = randomUUID();
        const mode = copyOfCentral ? 'off' : emailDelivery(target);
        const facts = { voicemailId: id, ...mailFactsOf(base) };
        if (mailed) {
          // Mailed already where it was recorded: kept for the record unless only mailed.
          if (mode !== 'forward') messages.push({ ...base, id, mailboxId: target.id });
          continue;
        }
        if (mode === 'forward') {
          mails.push({
            ...facts,
            target: 'smtp',
            kind: 'forward',
            mailboxId: target.id,
            recipient: target.email!,
            messageId: null,
          });
          continue;
        }
        messages.push({ ...base, id, mailboxId: target.id });
        if (copyOfCentral) continue;
        // The backup keeps messages in step too (topology.syncMessages): the same voicemail,
        // under its identity, so a resend is stored there once.
        if (this.#deps.backup)
          mails.push({
            ...facts,
            target: 'peer',
            kind: 'copy',
            mailboxId: target.id,
            recipient: target.name,
            messageId: id,
            payload: { peer: this.#deps.backup },
          });
        // At home in Exchange: kept here until the item exists there, then a shadow of it.
        const home = await this.#deps.store.getMailboxHome(target.id);
        const exchange = exchangeDestination(home, this.#deps.exchangeConnections ?? []);
        if (exchange.target)
          mails.push({ ...facts, ...exchange, kind: 'copy', mailboxId: target.id, messageId: id });
        else if (exchange.reason) this.#deps.log.warn({ mailboxId: target.id }, exchange.reason);
        if (mode === 'copy' || mode === 'alert') {
          mails.push({
            ...facts,
            target: 'smtp',
            kind: mode,
            mailboxId: target.id,
            recipient: target.email!,
            messageId: id,
          });
        }
      }
    const added = await this.#deps.store.addMessages(messages, this.#now(), mails);
    const requested = new Set(messages.map((m) => m.id));
    const fresh = new Set(added.messages.filter((m) => requested.has(m.id)).map((m) => m.id));
    for (const m of added.messages) {
      if (!fresh.has(m.id)) continue;
      this.#deps.log.info(
        { messageId: m.id, mailboxId: m.mailboxId, ms: m.audio.durationMs },
        'message stored',
      );
    }
    let queued = mails;
    if (added.repeated > 0) {
      // A resend (a retried SMTP delivery, a peer's copy): acknowledged, nothing stored twice.
      this.#deps.log.info(
        { identities: all.map((b) => b.identity), repeated: added.repeated, mailboxId: mailbox.id },
        'voicemail deposited before: not stored again',
      );
      await this.#deps.audio.remove(added.unusedAudio);
      queued = mails.filter((mail) => mail.messageId !== null && fresh.has(mail.messageId));
    }
    for (const mail of queued)
      this.#deps.log.info(
        { mailboxId: mail.mailboxId, kind: mail.kind, target: mail.target },
        'delivery queued',
      );
    if (queued.length > 0) this.#deps.onDeliveryQueued?.();
    return added.messages;
  }

  /**
   * A distributed server keeps no voicemail: each one is queued, with its audio, for the
   * central (a `forward` to the `peer` target, named by the mailbox's name there), which
   * expands groups and sends e-mail. The queue keeps it until the central stored it; one the
   * central refuses for good goes into the mailbox here instead (`undeliveredForward`).
   */
  async #toCentral(
    mailbox: MailboxRecord,
    bases: Omit<NewMessage, 'id' | 'mailboxId'>[],
    central: string,
  ): Promise<Message[]> {
    const mails: NewDelivery[] = bases.map((base) => ({
      voicemailId: randomUUID(),
      ...mailFactsOf(base),
      target: 'peer',
      kind: 'forward',
      mailboxId: mailbox.id,
      recipient: mailbox.name,
      messageId: null,
      payload: { peer: central },
    }));
    const added = await this.#deps.store.addMessages([], this.#now(), mails);
    // A resend of a voicemail queued or sent before: acknowledged, queued once.
    if (added.repeated > 0) await this.#deps.audio.remove(added.unusedAudio);
    for (const mail of mails)
      this.#deps.log.info(
        { mailboxId: mail.mailboxId, identity: mail.identity, peer: central },
        'voicemail queued for the central',
      );
    this.#deps.onDeliveryQueued?.();
    return [];
  }

  /** The message a forward becomes when it cannot be delivered: nothing is lost. */
  undeliveredForward(item: Delivery): NewMessage {
    return {
      id: item.voicemailId,
      identity: item.identity,
      mailboxId: item.mailboxId,
      kind: 'message',
      callerNumber: item.callerNumber,
      callerName: item.callerName,
      receivedAt: item.receivedAt,
      audio: item.audio,
      priority: item.priority,
      private: item.private,
      originServer: this.#deps.serverName,
      forwardedFrom: null,
    };
  }
}
