/**
 * The typed client of the server's JSON API. It holds the CSRF token of the session and sends
 * it on every request that changes something; every failure becomes an ApiError.
 */
import type {
  ActiveGreetingKind,
  BulkBody,
  DisplayBody,
  Mailbox,
  BulkReply,
  EmptyReply,
  CodeBody,
  EmailSettings,
  Folder,
  ForwardReply,
  GreetingKind,
  GreetingList,
  ListOrder,
  LoginBody,
  MailboxSearchReply,
  Message,
  MessageAction,
  MessageList,
  Peaks,
  PhoneReach,
  PlayOnPhoneReply,
  Session,
} from './api-types.ts';
import { listPath, takeEarly } from './early.ts';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

interface RequestOptions {
  json?: unknown;
  /** A raw body (an audio file), sent with its own Content-Type. */
  body?: Blob;
  contentType?: string;
  signal?: AbortSignal;
}

let csrfToken: string | null = null;

/** Set from the login or session reply; cleared on log-out. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

async function request<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.body) {
    headers['Content-Type'] = options.contentType || 'application/octet-stream';
    body = options.body;
  }
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;

  let response: Response;
  try {
    // The same request, if the page started it as it opened (early.ts).
    const early = method === 'GET' && !options.signal ? takeEarly(path) : undefined;
    response = await (early ??
      fetch(path, {
        method,
        headers,
        body,
        credentials: 'same-origin',
        signal: options.signal,
      }));
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new ApiError(0, 'NETWORK', 'The server could not be reached. Check the connection.');
  }
  if (!response.ok) throw await toApiError(response);
  // 204 No Content, 202 Accepted and the like carry no body.
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

async function toApiError(response: Response): Promise<ApiError> {
  let code = `HTTP_${response.status}`;
  let message = `The server answered ${response.status} ${response.statusText}`.trim();
  try {
    const reply: unknown = await response.json();
    if (reply && typeof reply === 'object') {
      const { error, message: text } = reply as Record<string, unknown>;
      if (typeof error === 'string') code = error;
      if (typeof text === 'string' && text) message = text;
    }
  } catch {
    // Not JSON (a proxy's error page): keep the status line.
  }
  return new ApiError(response.status, code, message);
}

const seg = encodeURIComponent;

export const api = {
  login: (body: LoginBody) => request<Session>('POST', '/api/login', { json: body }),
  logout: () => request<void>('POST', '/api/logout'),
  session: () => request<Session>('GET', '/api/session'),

  /** `search`: the folder's search as URL parameters (q, order, state...), `cursor` a page's next. */
  listMessages: (folder: Folder, search: URLSearchParams, cursor?: string, limit = 50) =>
    request<MessageList>('GET', listPath(folder, search, cursor, limit)),
  bulk: (body: BulkBody) => request<BulkReply>('POST', '/api/messages/bulk', { json: body }),
  emptyDeleted: () => request<EmptyReply>('POST', '/api/messages/empty-deleted'),
  getMessage: (id: string) => request<Message>('GET', `/api/messages/${seg(id)}`),
  messageAction: (id: string, action: MessageAction) =>
    request<Message>('POST', `/api/messages/${seg(id)}/actions`, { json: { action } }),
  deleteForever: (id: string) => request<void>('DELETE', `/api/messages/${seg(id)}`),
  forward: (id: string, to: string) =>
    request<ForwardReply>('POST', `/api/messages/${seg(id)}/forward`, { json: { to } }),
  forwardEmail: (id: string, to: string) =>
    request<void>('POST', `/api/messages/${seg(id)}/forward-email`, { json: { to } }),
  playOnPhone: (id: string) =>
    request<PlayOnPhoneReply>('POST', `/api/messages/${seg(id)}/play-on-phone`, { json: {} }),
  phoneReach: () => request<PhoneReach>('GET', '/api/phone-reach'),
  peaks: (id: string) => request<Peaks>('GET', `/api/messages/${seg(id)}/peaks`),
  searchMailboxes: (q: string, signal?: AbortSignal) =>
    request<MailboxSearchReply>('GET', `/api/mailboxes?q=${seg(q)}`, { signal }),

  changeCode: (body: CodeBody) => request<void>('PUT', '/api/code', { json: body }),

  greetings: () => request<GreetingList>('GET', '/api/greetings'),
  uploadGreeting: (kind: GreetingKind, audio: Blob, contentType: string) =>
    request<GreetingList>('PUT', `/api/greetings/${seg(kind)}`, { body: audio, contentType }),
  deleteGreeting: (kind: GreetingKind) => request<void>('DELETE', `/api/greetings/${seg(kind)}`),
  setActiveGreeting: (active: ActiveGreetingKind) =>
    request<GreetingList>('PUT', '/api/greetings/active', { json: { active } }),

  saveDisplay: (body: DisplayBody) =>
    request<Mailbox>('PUT', '/api/settings/display', { json: body }),
  saveListOrder: (listOrder: ListOrder) =>
    request<{ listOrder: ListOrder }>('PUT', '/api/settings/list-order', { json: { listOrder } }),
  emailSettings: () => request<EmailSettings>('GET', '/api/settings/email'),
  saveEmailSettings: (body: EmailSettings) =>
    request<EmailSettings>('PUT', '/api/settings/email', { json: body }),
};

/** Addresses the browser loads itself (audio elements, links, the event stream). */
export const apiUrls = {
  /** Browser-playable 16-bit PCM WAV, with Range support: for <audio src>. */
  stream: (id: string) => `/api/messages/${seg(id)}/stream`,
  /** The original WAV as an attachment. */
  download: (id: string) => `/api/messages/${seg(id)}/audio?download=1`,
  greetingAudio: (kind: string, version: string) =>
    `/api/greetings/${seg(kind)}/audio?v=${seg(version)}`,
  events: '/api/events',
};
