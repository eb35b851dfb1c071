/** What the user does to messages: each calls the API, updates the list, says what happened. */
import { api } from '../api.ts';
import type { Message, MessageAction, PhoneReach } from '../api-types.ts';
import { router, type Route } from '../router.svelte.ts';
import { arrivals } from '../stores/arrivals.svelte.ts';
import { messages } from '../stores/messages.svelte.ts';
import { notifications } from '../stores/notifications.svelte.ts';
import { handleError } from '../utils/handle-error.ts';
import { t } from '../i18n/i18n.svelte.ts';

async function act(
  message: Message,
  action: MessageAction,
  failure: string,
): Promise<Message | null> {
  arrivals.acted([message.id]);
  try {
    const updated = await api.messageAction(message.id, action);
    messages.apply(updated);
    return updated;
  } catch (error) {
    handleError(error, failure);
    return null;
  }
}

/** Where to go when the open message leaves the folder: the next one, else the list. */
function routeAfter(message: Message, folder: 'inbox' | 'deleted'): Route {
  const next = messages.neighbour(message.id, 1) ?? messages.neighbour(message.id, -1);
  return next && next.id !== message.id
    ? { name: 'message', id: next.id }
    : { name: folder, query: messages.folder === folder ? messages.search.toString() : '' };
}

export function openNext(currentId: string | undefined, step: 1 | -1): void {
  const target = messages.neighbour(currentId, step);
  if (target) router.go({ name: 'message', id: target.id });
  else if (messages.messages.length > 0)
    notifications.info(t(step > 0 ? 'done.last' : 'done.first'));
}

/** Playback started: a new message becomes old. Other states don't change. */
export async function markPlayed(message: Message): Promise<void> {
  if (message.state === 'new' || message.state === 'unopened')
    await act(message, 'play', t('fail.play'));
}

export async function markUnread(message: Message): Promise<void> {
  if (await act(message, 'markUnread', t('fail.unread'))) notifications.info(t('done.unread'));
}

export async function toggleSaved(message: Message): Promise<void> {
  const saving = message.state !== 'saved';
  const failure = t(saving ? 'fail.save' : 'fail.unsave');
  if (await act(message, saving ? 'save' : 'unsave', failure))
    notifications.info(t(saving ? 'done.saved' : 'done.unsaved'));
}

export async function deleteMessage(message: Message): Promise<void> {
  const next = routeAfter(message, 'inbox');
  const updated = await act(message, 'delete', t('fail.delete'));
  if (!updated) return;
  router.go(next);
  notifications.info(t('done.deleted', { caller: message.caller }), {
    label: t('done.undo'),
    run: () => void undelete(updated, false),
  });
}

/** `leave`: the message is open in the deleted folder, so move on from it. */
export async function undelete(message: Message, leave = true): Promise<void> {
  const next = routeAfter(message, 'deleted');
  if (!(await act(message, 'undelete', t('fail.undelete')))) return;
  if (leave) router.go(next);
  notifications.info(t('done.undeleted', { caller: message.caller }));
}

export async function deleteForever(message: Message): Promise<void> {
  const next = routeAfter(message, 'deleted');
  try {
    await api.deleteForever(message.id);
  } catch (error) {
    handleError(error, t('fail.delete'));
    return;
  }
  router.go(next);
  messages.remove(message.id);
  notifications.info(t('done.deletedForever', { caller: message.caller }));
}

/** Throws the ApiError (a private message is refused with the server's reason). */
export async function forward(message: Message, to: string): Promise<number> {
  const { forwarded } = await api.forward(message.id, to.trim());
  notifications.info(t('done.forwarded', { to, count: forwarded }));
  return forwarded;
}

/** Throws the ApiError (a private message or a bad address is refused with the server's reason). */
export async function forwardToEmail(message: Message, address: string): Promise<void> {
  await api.forwardEmail(message.id, address.trim());
  notifications.info(t('done.emailing', { address: address.trim() }));
}

/**
 * Whether the phone can be rung, asked as a message opens so the button can say why not before
 * it is clicked. Null when the server could not say: the button is offered, and a click says.
 */
export async function phoneReach(): Promise<PhoneReach | null> {
  try {
    return await api.phoneReach();
  } catch {
    return null;
  }
}

/** The server rings the user's phone and plays the message there. */
export async function playOnPhone(message: Message): Promise<void> {
  try {
    await api.playOnPhone(message.id);
    notifications.info(t('done.calling'));
  } catch (error) {
    handleError(error, t('fail.call'));
  }
}

const peaksCache = new Map<string, number[]>();

/** The waveform; a flat line when the server has none, which still allows seeking. */
export async function loadPeaks(id: string): Promise<number[]> {
  const cached = peaksCache.get(id);
  if (cached) return cached;
  try {
    const { peaks } = await api.peaks(id);
    peaksCache.set(id, peaks);
    return peaks;
  } catch {
    return [];
  }
}
