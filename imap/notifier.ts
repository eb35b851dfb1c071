import type { VoicemailStore } from '../server/domain/ports.ts';
import { flagsOf } from './flags.ts';
import type { Callback, ImapSession } from './imap-core.ts';
import { parseFolderId } from './folder-id.ts';

type Handler = (data?: unknown) => void;

interface Entry {
  _id: number;
  command: 'EXISTS' | 'EXPUNGE' | 'FETCH';
  uid: number;
  modseq: number;
  flags?: string[];
  ignore?: string;
}

const MAX_IGNORED = 10_000;

/**
 * imap-core's notifier, woken by the store's change feed: every change, by any channel, process
 * or node, wakes the sessions of that mailbox, which then read the journal from their own
 * modseq on (imap-core keeps it per session).
 * Changes a session made itself and already answered (STORE, EXPUNGE, MOVE) are marked
 * `ignore` for that session, so it does not repeat them.
 */
export class ImapNotifier {
  readonly #store: VoicemailStore;
  /** Per mailbox, its sessions' handlers: an array (8 bytes a session), not a Set (about 24). */
  readonly #listeners = new Map<number, Handler[]>();
  readonly #ignored = new Map<string, string>();
  readonly #pending = new Set<number>();
  /** One journal read per folder and modseq, shared by every session waking for it. */
  readonly #reads = new Map<string, Promise<Entry[]>>();
  readonly #unsubscribe: () => void;

  constructor(store: VoicemailStore) {
    this.#store = store;
    this.#unsubscribe = store.feed.subscribe((mailboxId) => this.#onWake(mailboxId));
  }

  addListener(session: ImapSession, handler: Handler): void {
    const handlers = this.#listeners.get(session.user.id);
    if (!handlers) this.#listeners.set(session.user.id, [handler]);
    else if (!handlers.includes(handler)) handlers.push(handler);
  }

  removeListener(session: ImapSession, handler: Handler): void {
    const handlers = this.#listeners.get(session.user.id);
    const at = handlers?.indexOf(handler) ?? -1;
    if (at < 0) return;
    handlers!.splice(at, 1);
    if (handlers!.length === 0) this.#listeners.delete(session.user.id);
  }

  /** Marks a change this session has already reported to its client. */
  ignore(mailboxId: number, modseq: number, sessionId: string): void {
    this.#ignored.set(`${mailboxId}:${modseq}`, sessionId);
    if (this.#ignored.size > MAX_IGNORED) this.#ignored.delete(this.#ignored.keys().next().value!);
  }

  getUpdates(folderId: string, modifyIndex: number, cb: Callback): void {
    const key = `${folderId}@${modifyIndex}`;
    let read = this.#reads.get(key);
    if (!read) {
      read = this.#updates(folderId, modifyIndex);
      this.#reads.set(key, read);
      // Shared only by the sessions that ask in the same wake-up; later asks read afresh.
      setTimeout(() => this.#reads.delete(key), 20).unref();
    }
    read.then(
      (entries) =>
        cb(
          null,
          entries.map((e) => ({ ...e })),
        ),
      (err: unknown) => cb(err as Error),
    );
  }

  close(): void {
    this.#unsubscribe();
  }

  async #updates(folderId: string, modifyIndex: number): Promise<Entry[]> {
    const { mailboxId, folder } = parseFolderId(folderId);
    const changes = (await this.#store.changesSince(mailboxId, modifyIndex)).filter(
      (c) => c.folder === folder,
    );
    const entries: Entry[] = [];
    for (const c of changes) {
      const ignore = this.#ignored.get(`${mailboxId}:${c.modseq}`);
      const base = { _id: c.seq, uid: c.uid!, modseq: c.modseq, ...(ignore ? { ignore } : {}) };
      if (c.kind === 'added') entries.push({ ...base, command: 'EXISTS' });
      else if (c.kind === 'removed') entries.push({ ...base, command: 'EXPUNGE' });
      else if (c.kind === 'changed') {
        // Flags as they are now: later changes of the same message arrive as their own entries.
        const m = await this.#store.getMessage(c.messageId!);
        if (m && m.folder === folder && m.uid === c.uid)
          entries.push({ ...base, command: 'FETCH', flags: flagsOf(m) });
      }
    }
    return entries;
  }

  #onWake(mailboxId: number): void {
    // A read made before this change must not answer sessions woken for it.
    for (const key of this.#reads.keys())
      if (key.startsWith(`${mailboxId}/`)) this.#reads.delete(key);
    if (!this.#listeners.has(mailboxId) || this.#pending.has(mailboxId)) return;
    // Changes come in bursts: wake each session once per burst.
    this.#pending.add(mailboxId);
    setImmediate(() => {
      this.#pending.delete(mailboxId);
      // A copy: a handler may end its session's listening, and so change the array, meanwhile.
      for (const handler of this.#listeners.get(mailboxId)?.slice() ?? []) handler();
    });
  }
}
