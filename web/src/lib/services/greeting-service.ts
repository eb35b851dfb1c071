import { api } from '../api.ts';
import type { ActiveGreetingKind, GreetingKind, GreetingList } from '../api-types.ts';
import { notifications } from '../stores/notifications.svelte.ts';
import { handleError } from '../utils/handle-error.ts';
import { t } from '../i18n/i18n.svelte.ts';

/** "the busy greeting", as a sentence names it. */
const the = (kind: GreetingKind) => t(`greeting.the.${kind}`);

const TYPE_BY_EXTENSION: Record<string, string> = {
  wav: 'audio/wav',
  webm: 'audio/webm',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/ogg',
  mp3: 'audio/mpeg',
};

const TYPE_ALIASES: Record<string, string> = {
  'audio/x-wav': 'audio/wav',
  'audio/wave': 'audio/wav',
  'audio/vnd.wave': 'audio/wav',
  'audio/mp3': 'audio/mpeg',
};

/**
 * The Content-Type to upload with: the browser's type without codec parameters, else one
 * guessed from the file name. The server decides what it accepts (415 otherwise).
 */
export function audioType(audio: Blob, fileName = ''): string {
  const declared = audio.type.split(';')[0]?.trim().toLowerCase() ?? '';
  if (declared && declared !== 'application/octet-stream')
    return TYPE_ALIASES[declared] ?? declared;
  const extension = fileName.split('.').pop()?.toLowerCase() ?? '';
  return TYPE_BY_EXTENSION[extension] ?? 'application/octet-stream';
}

export async function loadGreetings(): Promise<GreetingList | null> {
  try {
    return await api.greetings();
  } catch (error) {
    handleError(error, t('greeting.loadFailed'));
    return null;
  }
}

export async function uploadGreeting(
  kind: GreetingKind,
  audio: Blob,
  fileName?: string,
): Promise<GreetingList | null> {
  try {
    const list = await api.uploadGreeting(kind, audio, audioType(audio, fileName));
    notifications.info(t('greeting.saved', { the: the(kind) }));
    return list;
  } catch (error) {
    handleError(error, t('greeting.saveFailed', { the: the(kind) }));
    return null;
  }
}

export async function deleteGreeting(kind: GreetingKind): Promise<GreetingList | null> {
  try {
    await api.deleteGreeting(kind);
    notifications.info(t('greeting.deleted', { the: the(kind) }));
    return await api.greetings();
  } catch (error) {
    handleError(error, t('greeting.deleteFailed', { the: the(kind) }));
    return null;
  }
}

export async function setActiveGreeting(active: ActiveGreetingKind): Promise<GreetingList | null> {
  try {
    const list = await api.setActiveGreeting(active);
    notifications.info(t('greeting.nowActive', { the: the(active) }));
    return list;
  } catch (error) {
    handleError(error, t('greeting.activeFailed'));
    return null;
  }
}
