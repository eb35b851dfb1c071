// Client digest authentication (RFC 2617, RFC 7616 with MD5, RFC 3261 22): answers a 401
// (WWW-Authenticate) or 407 (Proxy-Authenticate) challenge for any method.
import { createHash, randomBytes } from 'node:crypto';
import { getHeaders, type SipResponse } from './message.ts';

export interface Credentials {
  username: string;
  password: string;
}

export interface Challenge {
  scheme: string;
  realm: string;
  nonce: string;
  opaque?: string;
  algorithm?: string;
  qop?: string[];
  stale?: boolean;
}

/** `Digest realm="x", nonce="y", qop="auth,auth-int"` (values quoted or not, commas in quotes kept). */
export function parseChallenge(header: string): Challenge | null {
  const m = /^\s*(\S+)\s+(.*)$/s.exec(header);
  if (!m) return null;
  const params: Record<string, string> = {};
  const re = /([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/g;
  for (let p = re.exec(m[2] ?? ''); p; p = re.exec(m[2] ?? '')) {
    params[(p[1] ?? '').toLowerCase()] =
      p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
  }
  if (params.nonce === undefined || params.realm === undefined) return null;
  const c: Challenge = { scheme: m[1] ?? '', realm: params.realm, nonce: params.nonce };
  if (params.opaque !== undefined) c.opaque = params.opaque;
  if (params.algorithm !== undefined) c.algorithm = params.algorithm;
  if (params.qop !== undefined) c.qop = params.qop.split(',').map((q) => q.trim().toLowerCase());
  if (params.stale !== undefined) c.stale = params.stale.toLowerCase() === 'true';
  return c;
}

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

/** The `response` value (RFC 2617 3.2.2.1), with or without qop=auth. */
export function digestResponse(o: {
  username: string;
  password: string;
  realm: string;
  nonce: string;
  method: string;
  uri: string;
  qop?: 'auth';
  nc?: string;
  cnonce?: string;
}): string {
  const ha1 = md5(`${o.username}:${o.realm}:${o.password}`);
  const ha2 = md5(`${o.method}:${o.uri}`);
  return o.qop
    ? md5(`${ha1}:${o.nonce}:${o.nc}:${o.cnonce}:${o.qop}:${ha2}`)
    : md5(`${ha1}:${o.nonce}:${ha2}`);
}

/** The header to add to the retried request, or null when the challenge cannot be answered. */
export function authorize(
  res: SipResponse,
  req: { method: string; uri: string },
  creds: Credentials,
  cnonce: string = randomBytes(8).toString('hex'),
): { name: 'authorization' | 'proxy-authorization'; value: string } | null {
  const proxy = res.status === 407;
  const headerName = proxy ? 'proxy-authenticate' : 'www-authenticate';
  for (const raw of getHeaders(res, headerName)) {
    const c = parseChallenge(raw);
    if (!c || c.scheme.toLowerCase() !== 'digest') continue;
    // Only MD5 (the algorithm every SIP server still offers); SHA-256 and -sess are skipped.
    if (c.algorithm && c.algorithm.toUpperCase() !== 'MD5') continue;
    if (c.qop && !c.qop.includes('auth')) continue;
    const qop = c.qop ? ('auth' as const) : undefined;
    const nc = '00000001';
    const response = digestResponse({
      ...creds,
      realm: c.realm,
      nonce: c.nonce,
      method: req.method,
      uri: req.uri,
      qop,
      nc,
      cnonce,
    });
    const q = (s: string): string => `"${s.replace(/(["\\])/g, '\\$1')}"`;
    const parts = [
      `username=${q(creds.username)}`,
      `realm=${q(c.realm)}`,
      `nonce=${q(c.nonce)}`,
      `uri=${q(req.uri)}`,
      `response=${q(response)}`,
      'algorithm=MD5',
    ];
    if (c.opaque !== undefined) parts.push(`opaque=${q(c.opaque)}`);
    if (qop) parts.push(`qop=auth`, `nc=${nc}`, `cnonce=${q(cnonce)}`);
    return {
      name: proxy ? 'proxy-authorization' : 'authorization',
      value: `Digest ${parts.join(', ')}`,
    };
  }
  return null;
}
