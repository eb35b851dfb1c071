/**
 * What a mailbox's owner chose in the web app, kept on the server so that it follows them from
 * browser to browser: for now the list's order. The phone's playback order (FIFO/LIFO) is the
 * phone's own and is not one of these.
 */
import { VoicegateError } from './errors.ts';
import type { MessageOrder, VoicemailStore } from './ports.ts';

export const LIST_ORDERS = ['newest', 'oldest', 'priority'] as const satisfies MessageOrder[];

export interface WebPreferences {
  listOrder: MessageOrder;
}

/** What a mailbox that never chose gets. */
export const DEFAULT_WEB_PREFERENCES: Readonly<WebPreferences> = { listOrder: 'newest' };

export function checkListOrder(value: string): MessageOrder {
  if ((LIST_ORDERS as readonly string[]).includes(value)) return value as MessageOrder;
  throw new VoicegateError('INVALID_INPUT', `the list order is one of ${LIST_ORDERS.join(', ')}`);
}

/** The owner's preferences, read and changed through the store's port. */
export class WebPreferenceService {
  readonly #store: Pick<VoicemailStore, 'getWebPreferences' | 'setWebPreferences'>;
  constructor(store: Pick<VoicemailStore, 'getWebPreferences' | 'setWebPreferences'>) {
    this.#store = store;
  }

  get(mailboxId: number): Promise<WebPreferences> {
    return this.#store.getWebPreferences(mailboxId);
  }

  setListOrder(mailboxId: number, order: string): Promise<WebPreferences> {
    return this.#store.setWebPreferences(mailboxId, { listOrder: checkListOrder(order) });
  }
}
