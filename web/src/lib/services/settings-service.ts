import { api, ApiError } from '../api.ts';
import type { EmailSettings } from '../api-types.ts';
import { notifications } from '../stores/notifications.svelte.ts';
import { handleError } from '../utils/handle-error.ts';
import { reloadSession } from './session-service.ts';

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
      throw new ApiError(400, 'WRONG_CODE', `The current code is not right: ${error.message}`);
    }
    throw error;
  }
  notifications.info('Your voicemail code has been changed.');
}

export async function loadEmailSettings(): Promise<EmailSettings | null> {
  try {
    return await api.emailSettings();
  } catch (error) {
    handleError(error, "Couldn't load the e-mail settings");
    return null;
  }
}

/** Throws the ApiError for the form to show (an invalid address, say). */
export async function saveEmailSettings(settings: EmailSettings): Promise<EmailSettings> {
  const saved = await api.saveEmailSettings(settings);
  notifications.info('E-mail settings saved.');
  void reloadSession();
  return saved;
}
