import { api } from '../api.ts';
import type { ActiveGreetingKind, GreetingKind, GreetingList } from '../api-types.ts';
import { notifications } from '../stores/notifications.svelte.ts';
import { handleError } from '../utils/handle-error.ts';

export const GREETING_LABELS: Record<GreetingKind, string> = {
  unavailable: 'Unavailable',
  busy: 'Busy',
  temporary: 'Temporary',
  name: 'Recorded name',
};

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
    handleError(error, "Couldn't load the greetings");
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
    notifications.info(`${GREETING_LABELS[kind]} greeting saved.`);
    return list;
  } catch (error) {
    handleError(error, `Couldn't save the ${GREETING_LABELS[kind].toLowerCase()} greeting`);
    return null;
  }
}

export async function deleteGreeting(kind: GreetingKind): Promise<GreetingList | null> {
  try {
    await api.deleteGreeting(kind);
    notifications.info(`${GREETING_LABELS[kind]} greeting deleted.`);
    return await api.greetings();
  } catch (error) {
    handleError(error, `Couldn't delete the ${GREETING_LABELS[kind].toLowerCase()} greeting`);
    return null;
  }
}

export async function setActiveGreeting(active: ActiveGreetingKind): Promise<GreetingList | null> {
  try {
    const list = await api.setActiveGreeting(active);
    notifications.info(`Callers now hear the ${GREETING_LABELS[active].toLowerCase()} greeting.`);
    return list;
  } catch (error) {
    handleError(error, "Couldn't change the active greeting");
    return null;
  }
}
