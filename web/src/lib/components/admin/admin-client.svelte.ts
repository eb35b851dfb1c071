/**
 * The admin area's one client of /api/admin: the CSRF token on every change, and the page's
 * notice and error (one place errors end up, shown in the live regions AdminApp renders).
 */
export type Json = Record<string, unknown>;

export class AdminClient {
  csrf = $state('');
  error = $state('');
  notice = $state('');
  /** Set when a log-in was refused for want of the one-time code. */
  needTotp = $state(false);

  async call<T = Json>(method: string, url: string, body?: unknown, type?: string): Promise<T> {
    const raw = body instanceof Blob;
    const res = await fetch(url, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': raw ? type! : 'application/json' }),
        ...(method === 'GET' ? {} : { 'x-csrf-token': this.csrf }),
      },
      body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
    });
    const data = res.status === 204 ? {} : ((await res.json()) as Json);
    if (!res.ok) {
      if (data.field === 'totp') this.needTotp = true;
      throw new Error(String(data.message ?? res.statusText));
    }
    return data as T;
  }

  /** Runs a user's action: its notice when done, else its error; never throws. */
  async act(what: () => Promise<unknown>, done = ''): Promise<boolean> {
    this.error = '';
    this.notice = '';
    try {
      await what();
      this.notice = done;
      return true;
    } catch (err) {
      this.error = (err as Error).message;
      return false;
    }
  }
}

export const time = (ms: number | null | undefined): string =>
  ms ? new Date(ms).toISOString().slice(0, 19).replace('T', ' ') : '';

export const bytes = (n: number | null | undefined): string =>
  n === null || n === undefined
    ? 'unknown'
    : n >= 1e9
      ? `${(n / 1e9).toFixed(1)} GB`
      : `${Math.round(n / 1e6)} MB`;

export const path = (name: string): string => encodeURIComponent(name);
