import { api, ApiError } from '../api.ts';
import { notifications } from '../stores/notifications.svelte.ts';
import { messages } from '../stores/messages.svelte.ts';
import { languageFor, session } from '../stores/session.svelte.ts';
import type { Session } from '../api-types.ts';
import { handleError } from '../utils/handle-error.ts';
import { i18n, t } from '../i18n/i18n.svelte.ts';
import { router } from '../router.svelte.ts';
import { listSearch } from '../utils/list-order.ts';
import { dropEarly } from '../early.ts';

/** The app opens in the mailbox's language: its words are fetched first, if not built in. */
async function signIn(reply: Session): Promise<void> {
  await i18n.use(languageFor(reply));
  session.signedIn(reply);
  // The list's first page is asked for now, while the screen is built, not once it is.
  const route = router.route;
  if (route.name === 'inbox' || route.name === 'deleted')
    void messages.show(route.name, listSearch(route.query, reply.listOrder));
}

/** On start: an existing session cookie skips the login page. */
export async function restoreSession(): Promise<void> {
  try {
    await signIn(await api.session());
  } catch (error) {
    session.signedOut();
    if (!(error instanceof ApiError && error.status === 401))
      handleError(error, t('session.unreachable'));
  }
}

/** Throws the ApiError, which the login form shows. */
export async function logIn(mailbox: string, code: string): Promise<void> {
  // Anything the page asked as it opened was asked without a session.
  dropEarly();
  await signIn(await api.login({ mailbox: mailbox.trim(), code }));
}

export async function logOut(): Promise<void> {
  try {
    await api.logout();
  } catch (error) {
    // Staying logged in is safer than a page that looks logged out while the cookie still works.
    if (!(error instanceof ApiError && error.status === 401)) {
      handleError(error, t('session.logoutFailed'));
      return;
    }
  }
  messages.reset();
  // A notice about the mailbox ("Deleted, Undo") means nothing once logged out: its Undo would fail.
  notifications.clear();
  session.signedOut();
}

/** The mailbox's settings changed elsewhere (a `mailbox` change event). */
export async function reloadSession(): Promise<void> {
  try {
    await signIn(await api.session());
  } catch (error) {
    handleError(error, t('session.reloadFailed'));
  }
}
