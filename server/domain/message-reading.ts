import type { DomainDeps } from './deps.ts';
import { VoicegateError } from './errors.ts';
import { sortForPlayback, type Message } from './message.ts';
import { LIVE_STATES } from './message-state.ts';
import { lampCounts, type LampCounts } from './waiting.ts';
import { MAX_PAGE, toQuery, type MessageSearch, type MessageView } from './message-search.ts';
import type { MessagePage } from './ports.ts';

/** At most this many messages in one bulk action. */
export const MAX_BULK = 10_000;

export function tooMany(): VoicegateError {
  return new VoicegateError('INVALID_INPUT', `at most ${MAX_BULK} messages at once`);
}

/** Reading a mailbox's messages: one, a list, a page of a search, the counts, the audio. */
export class MessageReader {
  readonly #deps: DomainDeps;
  constructor(deps: DomainDeps) {
    this.#deps = deps;
  }

  async get(mailboxId: number, id: string): Promise<Message> {
    const message = await this.#deps.store.getMessage(id);
    // Another mailbox's message is reported exactly like a missing one.
    if (!message || message.mailboxId !== mailboxId)
      throw new VoicegateError('NOT_FOUND', `no message "${id}" in this mailbox`);
    return message;
  }

  async list(mailboxId: number, view: MessageView = 'inbox'): Promise<Message[]> {
    const states = view === 'inbox' ? LIVE_STATES : (['deleted'] as const);
    const messages = await this.#deps.store.listMessages(mailboxId, { states });
    return sortForPlayback(messages, this.#deps.playbackOrder);
  }

  /**
   * One page of a view, searched and ordered by the store; days are the mailbox's. `total`, when
   * the caller knows it (counted at the mailbox's current modification sequence), spares the
   * store counting every match again.
   */
  async page(
    mailbox: { id: number; timeZone: string },
    search: MessageSearch,
    total?: number,
  ): Promise<MessagePage> {
    const query = toQuery(search, mailbox.timeZone);
    if (total !== undefined) query.total = total;
    return this.#deps.store.queryMessages(mailbox.id, query);
  }

  /** Every id a search matches (a user's "select all matching"), up to MAX_BULK. */
  async idsMatching(
    mailbox: { id: number; timeZone: string },
    search: Omit<MessageSearch, 'after' | 'limit'>,
  ): Promise<string[]> {
    const ids: string[] = [];
    const query = toQuery({ ...search, limit: MAX_PAGE }, mailbox.timeZone);
    for (;;) {
      const page = await this.#deps.store.queryMessages(mailbox.id, query);
      ids.push(...page.messages.map((m) => m.id));
      if (ids.length > MAX_BULK) throw tooMany();
      if (!page.next) return ids;
      query.after = page.next;
    }
  }

  /** Messages per category: new (waiting: `lampCounts`' rule), old, saved, deleted. */
  async counts(
    mailboxId: number,
  ): Promise<{ new: number; old: number; saved: number; deleted: number }> {
    const c = await this.#deps.store.countByState(mailboxId);
    return {
      new: lampCounts(c).waiting,
      old: c.old ?? 0,
      saved: c.saved ?? 0,
      deleted: c.deleted ?? 0,
    };
  }

  /** What the lamp and the phone's summary count: messages waiting, and heard ones kept. */
  async lamp(mailboxId: number): Promise<LampCounts> {
    return lampCounts(await this.#deps.store.countByState(mailboxId));
  }

  /** A message's audio as stored, for channels that play it themselves (the phone). */
  async messageAudio(mailboxId: number, id: string): Promise<Uint8Array> {
    const message = await this.get(mailboxId, id);
    return this.#deps.audio.read(message.audio.key);
  }
}
