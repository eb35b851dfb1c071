import { randomUUID } from 'node:crypto';
import type { MailboxKind, MailboxRecord } from '../../../server/domain/mailbox.ts';
import type { Message, NewMessage } from '../../../server/domain/message.ts';
import type { NewMailbox, VoicemailStore } from '../../../server/domain/ports.ts';

/** A mailbox as the domain hands it to the store (the code already hashed). */
export function newMailbox(
  name: string,
  extension: string | null = null,
  kind: MailboxKind = 'user',
): NewMailbox {
  return {
    kind,
    name,
    extension,
    codeHash: `hash-of-${name}`,
    fullName: `${name} full name`,
    email: null,
    emailMode: 'off',
    umsAccess: true,
    locale: 'en-US',
    timeZone: 'UTC',
    trustedNumbers: [],
    breakouts: {},
    broadcast: false,
    activeGreeting: 'unavailable',
  };
}

export function addMailbox(
  store: VoicemailStore,
  name: string,
  extension: string | null = null,
): Promise<MailboxRecord> {
  return store.createMailbox(newMailbox(name, extension));
}

/** A message for `mailboxId` whose audio is `key` (a fresh key unless given). */
export function newMessage(
  mailboxId: number,
  key: string = randomUUID(),
  at = Date.now(),
): NewMessage {
  const id = randomUUID();
  return {
    id,
    identity: `${id}@contract`,
    mailboxId,
    kind: 'message',
    callerNumber: '+15550100',
    callerName: 'Caller',
    receivedAt: at,
    audio: { key, format: 'wav/pcm16/8000', bytes: 16_044, durationMs: 1000 },
    priority: 'normal',
    private: false,
    originServer: 'contract',
    forwardedFrom: null,
  };
}

export async function deposit(
  store: VoicemailStore,
  mailboxId: number,
  key?: string,
): Promise<Message> {
  const { messages } = await store.addMessages([newMessage(mailboxId, key)], Date.now());
  return messages[0]!;
}

/** The error code a promise rejects with, or 'resolved'. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return String((err as { code?: unknown }).code ?? err);
  }
}

/** The wake-ups a feed gives, kept, and awaited as they come (no polling). */
export class Wakes {
  readonly seen: { mailboxId: number; modseq: number }[] = [];
  #waiters: (() => void)[] = [];

  readonly listener = (mailboxId: number, modseq: number): void => {
    this.seen.push({ mailboxId, modseq });
    for (const w of this.#waiters.splice(0)) w();
  };

  /** Resolves once a wake-up for `mailboxId` covers `modseq`; fails after `ms`. */
  async covering(mailboxId: number, modseq: number, ms = 1000): Promise<void> {
    const covered = () => this.seen.some((w) => w.mailboxId === mailboxId && w.modseq >= modseq);
    const deadline = Date.now() + ms;
    while (!covered()) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no wake-up of mailbox ${mailboxId} covering modseq ${modseq} within ${ms} ms; got ${JSON.stringify(this.seen)}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
