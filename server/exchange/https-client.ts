import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';

export interface HttpResponse {
  status: number;
  /** Lower-case names, as node gives them. */
  headers: Record<string, string>;
  body: Buffer;
}

export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  signal?: AbortSignal;
}

/**
 * One HTTP(S) request with node's own client: Exchange connections may trust a CA of their
 * own (`caFile`, an on-premises CA or a test server), which global fetch cannot be told per
 * request. Answers every status; throws only when no answer came (refused, reset, aborted).
 */
export function createHttpClient(ca?: Buffer): (req: HttpRequest) => Promise<HttpResponse> {
  const agent = new https.Agent({ keepAlive: true, ca, minVersion: 'TLSv1.2' });
  return (req) => sendThrough(agent, req);
}

/** An agent of the connection's own: `maxSockets: 1` keeps every request on one socket (NTLM). */
export function connectionAgent(ca: Buffer | undefined, maxSockets?: number): https.Agent {
  return new https.Agent({ keepAlive: true, ca, minVersion: 'TLSv1.2', maxSockets });
}

/** One request through `agent` (for https URLs); answers every status, as createHttpClient. */
export function sendThrough(agent: https.Agent, req: HttpRequest): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(req.url);
    const secure = url.protocol === 'https:';
    const body = typeof req.body === 'string' ? Buffer.from(req.body) : req.body;
    const request = (secure ? https : http).request(
      url,
      {
        method: req.method,
        agent: secure ? agent : undefined,
        headers: { ...req.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
        signal: req.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
          resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks) });
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** The wait a 429 or 503 asks for (Retry-After: seconds or an HTTP date), in ms; else undefined. */
export function retryAfterMs(
  headers: Record<string, string>,
  now = Date.now(),
): number | undefined {
  const value = headers['retry-after'];
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The CA a configured connection trusts (its `caFile`); undefined: the system's. */
export function caOf(connection: { caFile?: string }): Buffer | undefined {
  return connection.caFile ? readFileSync(connection.caFile) : undefined;
}

/** The HTTP client of a configured connection: its own CA file when it names one. */
export function httpClientFor(connection: {
  caFile?: string;
}): (req: HttpRequest) => Promise<HttpResponse> {
  return createHttpClient(caOf(connection));
}
