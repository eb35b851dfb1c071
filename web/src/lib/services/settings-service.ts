import { api, ApiError } from '../api.ts';
import type { EmailSettings, ListOrder } from '../api-types.ts';
import { session } from '../stores/session.svelte.ts';
import { notifications } from '../stores/notifications.svelte.ts';
import { handleError } from '../utils/handle-error.ts';
import { reloadSession } from './session-service.ts';
import { t } from '../i18n/i18n.svelte.ts';

/**
 * Throws the ApiError for the form to show (the code policy comes as the server's message).
 * AUTH_FAILED is a wrong current code (the session goes on); an ended session is UNAUTHENTICATED.
 */
export async function changeCode(oldCode: string, newCode: string): Promise<void> {
  try {
    await api.changeCode({ oldCode, newCode });
  } catch (error) {
    if (error instanceof ApiError && error.code === 'AUTH_FAILED') {
      // The server says how many tries are left before the lockout, which holds on every channel.
      throw new ApiError(400, 'WRONG_CODE', t('code.wrong', { reason: error.message }));
    }
    throw error;
  }
  notifications.info(t('code.changed'));
}

export async function loadEmailSettings(): Promise<EmailSettings | null> {
  try {
    return await api.emailSettings();
  } catch (error) {
    handleError(error, t('email.loadFailed'));
    return null;
  }
}

/** Throws the ApiError for the form to show (an invalid address, say). */
export async function saveEmailSettings(settings: EmailSettings): Promise<EmailSettings> {
  const saved = await api.saveEmailSettings(settings);
  notifications.info(t('email.saved'));
  void reloadSession();
  return saved;
}

/** The list's order the user chose: used at once, kept by the server for every browser. */
export async function rememberOrder(order: ListOrder): Promise<void> {
  if (session.listOrder === order) return;
  session.listOrder = order;
  try {
    await api.saveListOrder(order);
  } catch (error) {
    handleError(error, t('list.orderFailed'));
  }
}
