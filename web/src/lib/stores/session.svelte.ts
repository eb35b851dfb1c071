import { setCsrfToken } from '../api.ts';
import { rememberSession } from '../early.ts';
import type { ListOrder, Mailbox, Session } from '../api-types.ts';
import { languageOf, type Language } from '../i18n/i18n.svelte.ts';

type Status = 'checking' | 'anonymous' | 'authenticated';

/** Who is logged in. The CSRF token goes to the API client, not into shared state. */
/** The mailbox's language (the one its phone prompts speak), else the browser's. */
export function languageFor(session: Session | null): Language {
  return (session && languageOf(session.mailbox.locale)) ?? languageOf(navigator.language) ?? 'en';
}

class SessionState {
  #status = $state<Status>('checking');
  #mailbox = $state.raw<Mailbox | null>(null);
  #notice = $state<string | null>(null);
  #listOrder = $state<ListOrder>('newest');

  get status(): Status {
    return this.#status;
  }

  get mailbox(): Mailbox | null {
    return this.#mailbox;
  }

  /** The list's order the user chose last, on any browser (the server keeps it). */
  get listOrder(): ListOrder {
    return this.#listOrder;
  }

  set listOrder(value: ListOrder) {
    this.#listOrder = value;
    rememberSession(value);
  }

  /** Why the user sees the login page again (the session ended), if not by logging out. */
  get notice(): string | null {
    return this.#notice;
  }

  signedIn(session: Session): void {
    setCsrfToken(session.csrfToken);
    this.#mailbox = session.mailbox;
    this.#listOrder = session.listOrder;
    rememberSession(session.listOrder);
    this.#status = 'authenticated';
    this.#notice = null;
  }

  signedOut(notice: string | null = null): void {
    setCsrfToken(null);
    this.#mailbox = null;
    this.#status = 'anonymous';
    rememberSession(null);
    this.#notice = notice;
  }
}

export const session = new SessionState();
