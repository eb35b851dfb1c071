// Digest authentication (RFC 2617, RFC 7616, RFC 8760 for SIP, RFC 3261 22). The client side
// answers a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate) challenge for any method; the
// server side challenges and verifies phones against stored HA1s.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
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

/** `Digest a="x", b=y`: the scheme (lower case) and the parameters (names in lower case). */
function parseChallengeParams(
  header: string,
): { scheme: string; original: string; params: Record<string, string | undefined> } | null {
  const m = /^\s*(\S+)\s+(.*)$/s.exec(header);
  if (!m) return null;
  const params: Record<string, string> = {};
  const re = /([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/g;
  for (let p = re.exec(m[2] ?? ''); p; p = re.exec(m[2] ?? '')) {
    params[(p[1] ?? '').toLowerCase()] =
      p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
  }
  return { scheme: (m[1] ?? '').toLowerCase(), original: m[1] ?? '', params };
}

/** `Digest realm="x", nonce="y", qop="auth,auth-int"` (values quoted or not, commas in quotes kept). */
export function parseChallenge(header: string): Challenge | null {
  const parsed = parseChallengeParams(header);
  if (!parsed) return null;
  const params = parsed.params;
  if (params.nonce === undefined || params.realm === undefined) return null;
  const c: Challenge = { scheme: parsed.original, realm: params.realm, nonce: params.nonce };
  if (params.opaque !== undefined) c.opaque = params.opaque;
  if (params.algorithm !== undefined) c.algorithm = params.algorithm;
  if (params.qop !== undefined) c.qop = params.qop.split(',').map((q) => q.trim().toLowerCase());
  if (params.stale !== undefined) c.stale = params.stale.toLowerCase() === 'true';
  return c;
}

const hash = (algorithm: DigestAlgorithm, s: string): string =>
  createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
    .update(s)
    .digest('hex');

/** The `response` value (RFC 2617 3.2.2.1, RFC 7616 3.4.1), with or without qop=auth. */
export function digestResponse(o: {
  algorithm?: DigestAlgorithm;
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
  const h = (s: string): string => hash(o.algorithm ?? 'MD5', s);
  const ha1 = h(`${o.username}:${o.realm}:${o.password}`);
  const ha2 = h(`${o.method}:${o.uri}`);
  return o.qop
    ? h(`${ha1}:${o.nonce}:${o.nc}:${o.cnonce}:${o.qop}:${ha2}`)
    : h(`${ha1}:${o.nonce}:${ha2}`);
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
  const algorithmOf = (c: Challenge): DigestAlgorithm | undefined =>
    DIGEST_ALGORITHMS.find((a) => a === (c.algorithm ?? 'MD5').toUpperCase());
  // MD5 and SHA-256 (RFC 8760), the strongest offered first; -sess is skipped.
  const challenges = getHeaders(res, headerName)
    .map(parseChallenge)
    .filter((c): c is Challenge => c !== null && c.scheme.toLowerCase() === 'digest')
    .sort((a, b) => Number(algorithmOf(b) === 'SHA-256') - Number(algorithmOf(a) === 'SHA-256'));
  for (const c of challenges) {
    const algorithm = algorithmOf(c);
    if (!algorithm) continue;
    if (c.qop && !c.qop.includes('auth')) continue;
    const qop = c.qop ? ('auth' as const) : undefined;
    const nc = '00000001';
    const response = digestResponse({
      ...creds,
      algorithm,
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
      `algorithm=${algorithm}`,
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

/**
 * The algorithms a server offers and verifies, in the order offered: the preferred first
 * (RFC 8760). Some phones (baresip 1.0 on libre 1.1) fail on any challenge whose algorithm they
 * do not know instead of skipping it; a server may offer MD5 alone for them.
 */
export const DIGEST_ALGORITHMS = ['SHA-256', 'MD5'] as const;
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

/** H(username:realm:password) for each algorithm: what a server keeps instead of a password. */
export type Ha1Set = Record<DigestAlgorithm, string>;

export function ha1(
  algorithm: DigestAlgorithm,
  username: string,
  realm: string,
  password: string,
): string {
  return hash(algorithm, `${username}:${realm}:${password}`);
}

export type DigestCheck =
  | { ok: true; username: string; algorithm: DigestAlgorithm }
  | { ok: false; reason: 'missing' | 'stale' | 'unknown-user' | 'mismatch' | 'malformed' };

/** Nonces live this long; a phone answering an older one gets stale=true and retries at once. */
const NONCE_SECONDS = 300;
/** Nonces whose last nonce-count is remembered (replays are refused); the oldest are dropped. */
const MAX_TRACKED_NONCES = 10_000;

/**
 * Server digest authentication (RFC 7616 and RFC 8760 for SIP, qop=auth only). Nonces carry
 * their time and an HMAC of it under a per-process secret, so any nonce this server made is
 * recognised without state and expires by itself; only the nonce-count seen per nonce is kept
 * (bounded), so a captured request cannot be replayed.
 */
export class DigestServer {
  readonly realm: string;
  readonly #secret: Buffer;
  readonly #now: () => number;
  readonly #counts = new Map<string, number>();

  readonly #algorithms: readonly DigestAlgorithm[];

  constructor(opts: {
    realm: string;
    /** Offered and accepted, in this order; default both, SHA-256 first. */
    algorithms?: readonly DigestAlgorithm[];
    secret?: Buffer;
    now?: () => number;
  }) {
    this.realm = opts.realm;
    this.#algorithms = opts.algorithms?.length ? opts.algorithms : DIGEST_ALGORITHMS;
    this.#secret = opts.secret ?? randomBytes(32);
    this.#now = opts.now ?? Date.now;
  }

  #sign(payload: string): string {
    return createHmac('sha256', this.#secret).update(payload).digest('base64url').slice(0, 32);
  }

  nonce(): string {
    const payload = `${Math.floor(this.#now() / 1000).toString(36)}.${randomBytes(9).toString('base64url')}`;
    return `${payload}.${this.#sign(payload)}`;
  }

  /** WWW-Authenticate (or Proxy-Authenticate) values: one per algorithm, one nonce. */
  challenge(stale = false): string[] {
    const nonce = this.nonce();
    return this.#algorithms.map(
      (algorithm) =>
        `Digest realm="${this.realm}", nonce="${nonce}", algorithm=${algorithm}, qop="auth"` +
        (stale ? ', stale=true' : ''),
    );
  }

  /** 'ok', 'stale' (ours but too old) or 'bad' (not ours). */
  #nonceState(nonce: string): 'ok' | 'stale' | 'bad' {
    const m = /^([0-9a-z]+)\.([\w-]+)\.([\w-]+)$/.exec(nonce);
    if (!m) return 'bad';
    const expected = Buffer.from(this.#sign(`${m[1]}.${m[2]}`));
    const given = Buffer.from(m[3]!);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad';
    const age = this.#now() / 1000 - parseInt(m[1]!, 36);
    return age >= -5 && age <= NONCE_SECONDS ? 'ok' : 'stale';
  }

  /**
   * Checks the Authorization (or Proxy-Authorization) of a request. `lookup` gives the HA1s of
   * a user name, or null when it has none.
   */
  async verify(
    req: { method: string; uri: string; authorization: readonly string[] },
    lookup: (username: string) => Promise<Ha1Set | null>,
  ): Promise<DigestCheck> {
    const answer = req.authorization
      .map((h) => parseChallengeParams(h))
      .find((p) => p !== null && p.scheme === 'digest' && p.params.realm === this.realm);
    if (!answer) return { ok: false, reason: 'missing' };
    const p = answer.params;
    const algorithm = this.#algorithms.find(
      (a) => a.toLowerCase() === (p.algorithm ?? 'MD5').toLowerCase(),
    );
    if (
      !algorithm ||
      !p.username ||
      !p.nonce ||
      !p.response ||
      p.qop?.toLowerCase() !== 'auth' ||
      !p.cnonce ||
      !/^[0-9a-fA-F]{8}$/.test(p.nc ?? '') ||
      p.uri !== req.uri
    )
      return { ok: false, reason: 'malformed' };
    const state = this.#nonceState(p.nonce);
    if (state === 'bad') return { ok: false, reason: 'malformed' };
    if (state === 'stale') return { ok: false, reason: 'stale' };
    const ha1s = await lookup(p.username);
    if (!ha1s) return { ok: false, reason: 'unknown-user' };
    const ha2 = hash(algorithm, `${req.method}:${p.uri}`);
    const expected = Buffer.from(
      hash(algorithm, `${ha1s[algorithm]}:${p.nonce}:${p.nc}:${p.cnonce}:auth:${ha2}`),
    );
    const given = Buffer.from(p.response.toLowerCase());
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return { ok: false, reason: 'mismatch' };
    // A nonce-count not above the last one seen with this nonce is a replay.
    const nc = parseInt(p.nc!, 16);
    if (nc <= (this.#counts.get(p.nonce) ?? 0)) return { ok: false, reason: 'stale' };
    this.#counts.delete(p.nonce);
    this.#counts.set(p.nonce, nc);
    if (this.#counts.size > MAX_TRACKED_NONCES)
      this.#counts.delete(this.#counts.keys().next().value!);
    return { ok: true, username: p.username, algorithm };
  }
}
