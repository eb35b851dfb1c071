import { ApiError } from '../api.ts';
import { notifications } from '../stores/notifications.svelte.ts';
import { session } from '../stores/session.svelte.ts';
import { t } from '../i18n/i18n.svelte.ts';

interface Options {
  /** The caller shows the text itself (next to a form); nothing goes to the status line. */
  quiet?: boolean;
}

/**
 * The one place errors end up. Returns the text for the user: the server's own message for an
 * API error (they are written for users), a generic one otherwise. UNAUTHENTICATED means the
 * session ended: back to the login page.
 */
export function handleError(error: unknown, context: string, options: Options = {}): string {
  if (error instanceof DOMException && error.name === 'AbortError') return '';
  if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') {
    session.signedOut(t('session.ended'));
    return errorText(error);
  }
  if (!(error instanceof ApiError)) console.error(context, error);
  const text = errorText(error);
  if (!options.quiet) notifications.error(`${context}: ${text}`);
  return text;
}

/** The text to show for an error: the server's message, which may start in lower case. */
export function errorText(error: unknown): string {
  return error instanceof ApiError ? sentence(error.message) : t('error.generic');
}

function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
