/** Actions on many messages at once: one request each, applied all or none by the server. */
import { api } from '../api.ts';
import type { BulkAction, Folder, SearchFields } from '../api-types.ts';
import { arrivals } from '../stores/arrivals.svelte.ts';
import { messages } from '../stores/messages.svelte.ts';
import { notifications } from '../stores/notifications.svelte.ts';
import { selection } from '../stores/selection.svelte.ts';
import { handleError } from '../utils/handle-error.ts';
import { t } from '../i18n/i18n.svelte.ts';

/** The folder's search as the API's `match`. */
function match(folder: Folder, search: URLSearchParams): SearchFields {
  const fields: Record<string, unknown> = { folder };
  for (const [key, value] of search) fields[key] = key === 'private' ? value === 'true' : value;
  return fields as SearchFields;
}

/** Runs `action` on the selection; returns false when the server refused it (nothing changed). */
export async function bulkAct(action: BulkAction, to?: string): Promise<boolean> {
  const target = selection.allMatching
    ? { match: match(messages.folder, messages.search) }
    : { ids: [...selection.ids] };
  arrivals.acted(selection.ids);
  try {
    const { count } = await api.bulk({ action, ...target, ...(to ? { to } : {}) });
    selection.clear();
    await messages.refresh();
    notifications.info(t('bulk.done', { count, action: t(`bulk.action.${action}`) }));
    return true;
  } catch (error) {
    handleError(error, t('bulk.failed'));
    return false;
  }
}

export async function emptyDeleted(): Promise<void> {
  try {
    const { purged } = await api.emptyDeleted();
    selection.clear();
    await messages.refresh();
    notifications.info(t('bulk.emptied', { count: purged }));
  } catch (error) {
    handleError(error, t('bulk.failed'));
  }
}
