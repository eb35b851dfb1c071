/**
 * New messages, noticed: a polite announcement for screen readers, a short highlight of the row,
 * a mark in the tab's title while the tab is hidden, and (if the user allowed it) a browser
 * notification. A message comes back to the inbox also when the user undeletes it: only a
 * message received in the last minutes, and not just acted on here, counts as an arrival.
 */
import type { ChangeEvent, Message } from '../api-types.ts';
import { t } from '../i18n/i18n.svelte.ts';

const HIGHLIGHT_MS = 4000;
const RECENT_MS = 10 * 60_000;

class Arrivals {
  #announcement = $state('');
  #highlighted = $state.raw(new Set<string>());
  #unseen = $state(0);
  #own = new Set<string>();

  get announcement(): string {
    return this.#announcement;
  }
  /** Arrivals while the tab was hidden, for its title. */
  get unseen(): number {
    return this.#unseen;
  }
  highlighted(id: string): boolean {
    return this.#highlighted.has(id);
  }

  /** Messages the user just acted on here: their coming back is no arrival. */
  acted(ids: Iterable<string>): void {
    for (const id of ids) {
      this.#own.add(id);
      setTimeout(() => this.#own.delete(id), 10_000);
    }
  }

  /** Called for every live change; notices those that are arrivals. */
  notice(event: ChangeEvent): void {
    const m = event.message;
    if (event.kind !== 'added' || !m || m.state !== 'new' || this.#own.has(m.id)) return;
    if (Date.now() - Date.parse(m.receivedAt) > RECENT_MS) return;
    this.#announce(m);
  }

  seen(): void {
    this.#unseen = 0;
  }

  #announce(m: Message): void {
    this.#announcement = t('arrival.announce', { caller: m.caller });
    this.#highlighted = new Set([...this.#highlighted, m.id]);
    setTimeout(() => {
      const next = new Set(this.#highlighted);
      next.delete(m.id);
      this.#highlighted = next;
    }, HIGHLIGHT_MS);
    if (document.hidden) this.#unseen++;
    if (document.hidden && 'Notification' in window && Notification.permission === 'granted')
      new Notification(t('arrival.title'), { body: m.caller, tag: m.id });
  }
}

export const arrivals = new Arrivals();

/** Asks for the browser's permission to notify; says whether it is granted. */
export async function allowNotifications(): Promise<boolean> {
  if (!('Notification' in window)) return false;
  return (await Notification.requestPermission()) === 'granted';
}
