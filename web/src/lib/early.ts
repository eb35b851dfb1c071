/**
 * The requests the first screen needs, started as the page opens, while the app's code is still
 * loading: the session and, at a folder's address, the folder's first page. The API client
 * takes each answer once, for the very same path (`takeEarly`); logging in drops those left
 * (they were asked without a session). Kept small: the page's first script, before the app.
 */
import type { Folder, ListOrder } from './api-types.ts';
import { parseHash } from './route.ts';
import { listSearch } from './utils/list-order.ts';

/** The list's order the user chose last on this browser, to ask for the right first page. */
const ORDER_KEY = 'voicegate.listOrder';
/** Set while logged in: whether a session is worth asking for before the app runs. */
const SESSION_KEY = 'voicegate.session';
const started = new Map<string, Promise<Response>>();

/** The path of a page of a folder's list, searched (the API client's too). */
export function listPath(
  folder: Folder,
  search: URLSearchParams,
  cursor?: string,
  limit = 50,
): string {
  const params = new URLSearchParams(search);
  params.set('folder', folder);
  params.set('limit', String(limit));
  if (cursor) params.set('cursor', cursor);
  return `/api/messages?${params}`;
}

function start(path: string): void {
  const answer = fetch(path, {
    headers: { Accept: 'application/json' },
    credentials: 'same-origin',
  });
  // A failure is the API client's to report when it takes the answer, if it ever does.
  answer.catch(() => undefined);
  started.set(path, answer);
}

/**
 * Starts the first screen's requests, when this browser was logged in when last seen (not on
 * the login page, nor for the admin area, which asks its own).
 */
export function startEarly(): void {
  if (location.hash.startsWith('#/admin') || read(SESSION_KEY) === null) return;
  start('/api/session');
  const route = parseHash(location.hash);
  if (route.name === 'inbox' || route.name === 'deleted')
    start(listPath(route.name, listSearch(route.query, rememberedOrder())));
}

/** The answer to `path` started early, once; undefined if none was (or it was taken). */
export function takeEarly(path: string): Promise<Response> | undefined {
  const answer = started.get(path);
  started.delete(path);
  return answer;
}

/** Drops the answers not taken (asked before logging in). */
export function dropEarly(): void {
  started.clear();
}

/** Notes the user's session and list order (null: logged out), for the next page load. */
export function rememberSession(order: ListOrder | null): void {
  try {
    if (order === null) return localStorage.removeItem(SESSION_KEY);
    localStorage.setItem(SESSION_KEY, '1');
    localStorage.setItem(ORDER_KEY, order);
  } catch {
    // Storage refused (a private window): the app asks once it runs, as without this.
  }
}

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function rememberedOrder(): ListOrder {
  const order = read(ORDER_KEY);
  return order === 'oldest' || order === 'priority' ? order : 'newest';
}
