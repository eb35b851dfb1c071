import { api, ApiError } from '../api.ts';
import type { ChangeEvent, Folder, Message, MessageCounts } from '../api-types.ts';
import { handleError } from '../utils/handle-error.ts';

export function folderOf(message: Message): Folder {
  return message.state === 'deleted' ? 'deleted' : 'inbox';
}

type LoadStatus = 'idle' | 'loading' | 'ready' | 'failed';

const PAGE = 50;
/** Change events come in bursts (a purge, a sync); one refetch answers a burst. */
const REFRESH_DEBOUNCE_MS = 100;

/** Whether the search narrows or reorders the folder (anything but newest first, unfiltered). */
function isPlain(search: URLSearchParams): boolean {
  return (
    [...search.keys()].every((k) => k === 'order') && (search.get('order') ?? 'newest') === 'newest'
  );
}

/**
 * The shown folder's messages, page by page in the server's order, and the open message. A live
 * change updates the one message it carries; only an arrival into a searched or reordered list
 * asks the server for the first page again.
 */
class MessageStore {
  #folder = $state<Folder>('inbox');
  #search = $state.raw(new URLSearchParams());
  #list = $state.raw<Message[]>([]);
  #counts = $state.raw<MessageCounts | null>(null);
  #status = $state<LoadStatus>('idle');
  #next = $state<string | null>(null);
  #total = $state(0);
  #loadingMore = false;
  #openId = $state<string | null>(null);
  /** The open message when it is not in the list (opened from an e-mail link, or just moved). */
  #opened = $state.raw<Message | null>(null);
  #missingId = $state<string | null>(null);
  #timer: ReturnType<typeof setTimeout> | undefined;
  #generation = 0;

  get folder(): Folder {
    return this.#folder;
  }
  /** The folder's search, as in the URL (without the folder). */
  get search(): URLSearchParams {
    return this.#search;
  }
  get messages(): Message[] {
    return this.#list;
  }
  get status(): LoadStatus {
    return this.#status;
  }
  /** How many messages match the search in all (the list holds the pages loaded so far). */
  get total(): number {
    return this.#total;
  }
  get hasMore(): boolean {
    return this.#next !== null;
  }
  get counts(): MessageCounts | null {
    return this.#counts;
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

  async show(folder: Folder, search: URLSearchParams = new URLSearchParams()): Promise<void> {
    this.#openId = null;
    await this.#load(folder, search);
  }

  async open(id: string): Promise<void> {
    this.#openId = id;
    const listed = this.#list.find((m) => m.id === id);
    if (listed) return this.#load(this.#folder, this.#search);
    const message = await this.#fetchOne(id);
    const folder = message ? folderOf(message) : this.#folder;
    await this.#load(folder, folder === this.#folder ? this.#search : new URLSearchParams());
  }

  refreshSoon(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.refresh(), REFRESH_DEBOUNCE_MS);
  }

  /** The first page again (as many messages as are shown, within reason). */
  async refresh(): Promise<void> {
    const generation = ++this.#generation;
    try {
      const limit = Math.min(200, Math.max(PAGE, this.#list.length));
      const reply = await api.listMessages(this.#folder, this.#search, undefined, limit);
      if (generation !== this.#generation) return;
      this.#list = reply.messages;
      this.#counts = reply.counts;
      this.#next = reply.next;
      this.#total = reply.total;
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

  /** The next page, after the last one loaded. */
  async loadMore(): Promise<void> {
    if (!this.#next || this.#loadingMore) return;
    this.#loadingMore = true;
    const generation = this.#generation;
    try {
      const reply = await api.listMessages(this.#folder, this.#search, this.#next);
      if (generation !== this.#generation) return;
      const known = new Set(this.#list.map((m) => m.id));
      this.#list = [...this.#list, ...reply.messages.filter((m) => !known.has(m.id))];
      this.#next = reply.next;
      this.#total = reply.total;
      this.#counts = reply.counts;
    } catch (error) {
      handleError(error, "Couldn't load more messages");
    } finally {
      this.#loadingMore = false;
    }
  }

  /** A live change: the one message it carries is updated, added or removed. */
  change(event: ChangeEvent): void {
    if (event.counts) this.#counts = event.counts;
    if (!event.messageId || event.message === undefined) return;
    if (event.message === null) return this.remove(event.messageId, false);
    const known = this.#list.some((m) => m.id === event.messageId);
    if (known || folderOf(event.message) !== this.#folder) return this.apply(event.message, false);
    // An arrival: at the top of a plain list; a searched or reordered one asks the server.
    if (!isPlain(this.#search)) return this.refreshSoon();
    const at = this.#list.findIndex((m) => m.receivedAt < event.message!.receivedAt);
    if (at < 0 && this.#next) return; // older than everything loaded: its page comes later
    this.#list = this.#list.toSpliced(at < 0 ? this.#list.length : at, 0, event.message);
    this.#total++;
  }

  /** Takes in a message the server returned after an action (or a live change). */
  apply(message: Message, own = true): void {
    const belongs = folderOf(message) === this.#folder;
    const i = this.#list.findIndex((m) => m.id === message.id);
    if (i >= 0) {
      this.#list = belongs ? this.#list.with(i, message) : this.#list.toSpliced(i, 1);
      if (!belongs) this.#total--;
    } else if (belongs && own) {
      this.refreshSoon();
    }
    if (!belongs || this.#opened?.id === message.id) this.#opened = message;
  }

  remove(id: string, own = true): void {
    const before = this.#list.length;
    this.#list = this.#list.filter((m) => m.id !== id);
    if (this.#list.length < before) this.#total--;
    if (this.#opened?.id === id) this.#opened = null;
    if (own) this.refreshSoon();
  }

  reset(): void {
    clearTimeout(this.#timer);
    this.#generation++;
    this.#folder = 'inbox';
    this.#search = new URLSearchParams();
    this.#list = [];
    this.#counts = null;
    this.#next = null;
    this.#total = 0;
    this.#status = 'idle';
    this.#openId = this.#missingId = null;
    this.#opened = null;
  }

  async #load(folder: Folder, search: URLSearchParams): Promise<void> {
    const same = folder === this.#folder && search.toString() === this.#search.toString();
    if (same && (this.#status === 'ready' || this.#status === 'loading')) return;
    if (!same) {
      this.#list = [];
      this.#next = null;
    }
    this.#folder = folder;
    this.#search = search;
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
