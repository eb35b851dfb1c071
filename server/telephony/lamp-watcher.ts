import type { MessageService } from '../domain/message-service.ts';
import type { ChangeFeed } from '../domain/ports.ts';
import type { LampState } from './message-summary.ts';

/**
 * Woken by the change feed (every channel's changes, from this process and others), recounts
 * and reports each mailbox whose lamp state changed. Wake-ups arriving together are coalesced
 * per mailbox, so a burst of IMAP flag changes costs one count and one NOTIFY; one for a modseq
 * already counted is dropped.
 */
export class LampWatcher {
  readonly #feed: ChangeFeed;
  readonly #messages: MessageService;
  readonly #onChange: (mailboxId: number, state: LampState) => void;
  readonly #onError: (err: unknown) => void;
  readonly #last = new Map<number, string>();
  /** Per mailbox, the modseq of the newest wake-up taken. */
  readonly #modseq = new Map<number, number>();
  readonly #pending = new Set<number>();
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(
    deps: { feed: ChangeFeed; messages: MessageService; onError: (err: unknown) => void },
    onChange: (mailboxId: number, state: LampState) => void,
  ) {
    this.#feed = deps.feed;
    this.#messages = deps.messages;
    this.#onError = deps.onError;
    this.#onChange = onChange;
  }

  start(): void {
    this.#unsubscribe ??= this.#feed.subscribe((mailboxId, modseq) => {
      if (modseq <= (this.#modseq.get(mailboxId) ?? -1)) return;
      this.#modseq.set(mailboxId, modseq);
      this.#pending.add(mailboxId);
      this.#timer ??= setTimeout(() => void this.#flush(), 20);
    });
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The lamp state now (and remembered, so only later changes are reported). */
  async current(mailboxId: number): Promise<LampState> {
    const c = await this.#messages.lamp(mailboxId);
    const state = { newCount: c.waiting, oldCount: c.heard };
    this.#last.set(mailboxId, `${state.newCount}/${state.oldCount}`);
    return state;
  }

  async #flush(): Promise<void> {
    this.#timer = undefined;
    const ids = [...this.#pending];
    this.#pending.clear();
    for (const id of ids) {
      try {
        const before = this.#last.get(id);
        const state = await this.current(id);
        if (before !== `${state.newCount}/${state.oldCount}`) this.#onChange(id, state);
      } catch (err) {
        this.#onError(err);
      }
    }
  }
}
