import { api, ApiError } from '../api.ts';
import type { Folder, Message, MessageCounts } from '../api-types.ts';
import { handleError } from '../utils/handle-error.ts';

export function folderOf(message: Message): Folder {
  return message.state === 'deleted' ? 'deleted' : 'inbox';
}

type LoadStatus = 'idle' | 'loading' | 'ready' | 'failed';

/** Change events come in bursts (a purge, a sync); one refetch answers a burst. */
const REFRESH_DEBOUNCE_MS = 100;

/**
 * The shown folder's messages, in the server's order, and the open message. The list is
 * always refetched whole: the server's order and counts are the truth.
 */
class MessageStore {
  #folder = $state<Folder>('inbox');
  #list = $state.raw<Message[]>([]);
  #counts = $state.raw<MessageCounts | null>(null);
  #status = $state<LoadStatus>('idle');
  #openId = $state<string | null>(null);
  /** The open message when it is not in the list (opened from an e-mail link, or just moved). */
  #opened = $state.raw<Message | null>(null);
  #missingId = $state<string | null>(null);
  #timer: ReturnType<typeof setTimeout> | undefined;
  #generation = 0;

  get folder(): Folder {
    return this.#folder;
  }
  get messages(): Message[] {
    return this.#list;
  }
  get status(): LoadStatus {
    return this.#status;
  }
  get unread(): number {
    return this.#counts?.new ?? 0;
  }
  get current(): Message | undefined {
    const id = this.#openId;
    if (!id) return undefined;
    return (
      this.#list.find((m) => m.id === id) ?? (this.#opened?.id === id ? this.#opened : undefined)
    );
  }
  /** The open message does not exist (any more). */
  get currentMissing(): boolean {
    return this.#openId !== null && this.#missingId === this.#openId;
  }

  /** The message `step` places away from `id` in the list; the first or last one if `id` is not in it. */
  neighbour(id: string | undefined, step: 1 | -1): Message | undefined {
    const i = id ? this.#list.findIndex((m) => m.id === id) : -1;
    if (i < 0) return step > 0 ? this.#list[0] : this.#list.at(-1);
    return this.#list[i + step];
  }

  async show(folder: Folder): Promise<void> {
    this.#openId = null;
    await this.#load(folder);
  }

  async open(id: string): Promise<void> {
    this.#openId = id;
    const listed = this.#list.find((m) => m.id === id);
    if (listed) return this.#load(this.#folder);
    const message = await this.#fetchOne(id);
    await this.#load(message ? folderOf(message) : this.#folder);
  }

  refreshSoon(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.refresh(), REFRESH_DEBOUNCE_MS);
  }

  async refresh(): Promise<void> {
    const generation = ++this.#generation;
    try {
      const reply = await api.listMessages(this.#folder);
      if (generation !== this.#generation) return;
      this.#list = reply.messages;
      this.#counts = reply.counts;
      this.#status = 'ready';
      const id = this.#openId;
      if (id && !reply.messages.some((m) => m.id === id)) await this.#fetchOne(id);
    } catch (error) {
      if (generation !== this.#generation) return;
      if (this.#status === 'loading') this.#status = 'failed';
      // A failed refresh in the background keeps the list; the header says the page is offline.
      const ended = error instanceof ApiError && error.status === 401;
      if (this.#status === 'failed' || ended) handleError(error, "Couldn't load the messages");
    }
  }

  /** Takes in a message the server returned after an action. */
  apply(message: Message): void {
    const belongs = folderOf(message) === this.#folder;
    const i = this.#list.findIndex((m) => m.id === message.id);
    if (i >= 0) this.#list = belongs ? this.#list.with(i, message) : this.#list.toSpliced(i, 1);
    if (!belongs || this.#opened?.id === message.id) this.#opened = message;
    this.refreshSoon();
  }

  remove(id: string): void {
    this.#list = this.#list.filter((m) => m.id !== id);
    if (this.#opened?.id === id) this.#opened = null;
    this.refreshSoon();
  }

  reset(): void {
    clearTimeout(this.#timer);
    this.#generation++;
    this.#folder = 'inbox';
    this.#list = [];
    this.#counts = null;
    this.#status = 'idle';
    this.#openId = this.#missingId = null;
    this.#opened = null;
  }

  async #load(folder: Folder): Promise<void> {
    if (folder === this.#folder && (this.#status === 'ready' || this.#status === 'loading')) return;
    if (folder !== this.#folder) this.#list = [];
    this.#folder = folder;
    this.#status = 'loading';
    await this.refresh();
  }

  async #fetchOne(id: string): Promise<Message | null> {
    try {
      const message = await api.getMessage(id);
      if (this.#openId === id) this.#opened = message;
      if (this.#missingId === id) this.#missingId = null;
      return message;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) this.#missingId = id;
      else handleError(error, "Couldn't open the message");
      return null;
    }
  }
}

export const messages = new MessageStore();
