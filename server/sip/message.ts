// SIP messages (RFC 3261 section 7 and 25): types, parser, serializer and the small helpers
// every other layer needs (name-addr, URI and Via parsing, tags, branches, responses).
import { randomBytes } from 'node:crypto';

/** Header values keyed by lower-case long name; multi-value headers hold one entry per value. */
export type SipHeaders = Map<string, string[]>;

export interface SipRequest {
  kind: 'request';
  method: string;
  uri: string;
  headers: SipHeaders;
  body: string;
}

export interface SipResponse {
  kind: 'response';
  status: number;
  reason: string;
  headers: SipHeaders;
  body: string;
}

export type SipMessage = SipRequest | SipResponse;

/** Garbage on the wire; `code` is stable, the message names what was wrong. */
export class ParseError extends Error {
  readonly code = 'SIP_PARSE';
}

export const LIMITS = { maxMessageBytes: 65_535, maxHeaders: 128 } as const;

const COMPACT: Record<string, string> = {
  i: 'call-id',
  f: 'from',
  t: 'to',
  v: 'via',
  m: 'contact',
  l: 'content-length',
  c: 'content-type',
  k: 'supported',
  s: 'subject',
  e: 'content-encoding',
  o: 'event',
  u: 'allow-events',
  r: 'refer-to',
  b: 'referred-by',
};

/** Headers whose comma-joined values are separate entries (RFC 3261 7.3.1). */
const MULTI = new Set(['via', 'route', 'record-route', 'contact']);

/** Wire spelling for the names that do not simply capitalise per word. */
const DISPLAY: Record<string, string> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'mime-version': 'MIME-Version',
};

export function canonicalName(name: string): string {
  const lower = name.trim().toLowerCase();
  return COMPACT[lower] ?? lower;
}

function displayName(lower: string): string {
  return (
    DISPLAY[lower] ??
    lower.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase())
  );
}

/** Splits on commas outside quotes and angle brackets. */
export function splitCommas(value: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (quoted) {
      if (ch === '\\') i++;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === '<') depth++;
    else if (ch === '>') depth = Math.max(0, depth - 1);
    else if (ch === ',' && depth === 0) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out.filter((v) => v !== '');
}

/** Where the header block ends: the index of the blank line and the length of its separator. */
export function findHeaderEnd(buf: Buffer): { at: number; sep: number } | null {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, sep: 4 };
  if (lf >= 0) return { at: lf, sep: 2 };
  return null;
}

/** Parses one whole datagram (or one framed stream message). Throws ParseError. */
export function parseMessage(input: Buffer | string): SipMessage {
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  if (buf.length > LIMITS.maxMessageBytes) throw new ParseError('message too large');
  let startAt = 0;
  // RFC 3261 7.5: ignore CRLFs before the start line (keepalives on streams).
  while (startAt < buf.length && (buf[startAt] === 13 || buf[startAt] === 10)) startAt++;
  const body = buf.subarray(startAt);
  const end = findHeaderEnd(body);
  const head = (end ? body.subarray(0, end.at) : body).toString('utf8');
  const rest = end ? body.subarray(end.at + end.sep) : Buffer.alloc(0);
  const lines = unfold(head.split(/\r?\n/));
  const first = lines.shift() ?? '';
  const msg = parseStartLine(first);
  if (lines.length > LIMITS.maxHeaders) throw new ParseError('too many headers');
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ParseError(`malformed header line: ${line.slice(0, 40)}`);
    const rawName = line.slice(0, colon).trim();
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(rawName)) {
      throw new ParseError(`bad header name: ${rawName.slice(0, 40)}`);
    }
    addHeader(msg, rawName, line.slice(colon + 1).trim());
  }
  const lengthHeader = getHeader(msg, 'content-length');
  let length = rest.length;
  if (lengthHeader !== undefined) {
    if (!/^\d+$/.test(lengthHeader)) throw new ParseError('bad Content-Length');
    length = Number(lengthHeader);
    if (length > rest.length) throw new ParseError('body shorter than Content-Length');
  }
  msg.body = rest.subarray(0, length).toString('utf8');
  for (const name of ['via', 'from', 'to', 'call-id', 'cseq']) {
    if (!getHeader(msg, name)) throw new ParseError(`missing ${displayName(name)}`);
  }
  // Checked here, once, so that the layers above can rely on them: a dialog uses these headers
  // long after the request came (a BYE half a minute later), when a bad one could only crash.
  parseVia(getHeader(msg, 'via') ?? '');
  parseNameAddr(getHeader(msg, 'from') ?? '');
  parseNameAddr(getHeader(msg, 'to') ?? '');
  const cseq = parseCSeq(getHeader(msg, 'cseq') ?? '');
  if (msg.kind === 'request' && cseq.method !== msg.method) {
    throw new ParseError('CSeq method does not match the request method');
  }
  checkTargets(msg, cseq.method);
  return msg;
}

/** Requests whose Contact (else Request-URI) becomes a dialog's remote target. */
const DIALOG_CREATING = new Set(['INVITE', 'SUBSCRIBE']);

/**
 * Contact and Record-Route say where in-dialog requests go: each must be a name-addr with a
 * SIP URI that parses (a REGISTER may bind other schemes, `*` included).
 */
function checkTargets(msg: SipMessage, method: string): void {
  const contacts = getHeaders(msg, 'contact');
  for (const c of contacts) {
    if (method === 'REGISTER' && c.trim() === '*') continue;
    const { uri } = parseNameAddr(c);
    if (method === 'REGISTER' && !/^sips?:/i.test(uri)) continue;
    parseUri(uri);
  }
  if (msg.kind === 'request' && DIALOG_CREATING.has(msg.method) && contacts.length === 0)
    parseUri(msg.uri);
  for (const rr of getHeaders(msg, 'record-route')) parseUri(parseNameAddr(rr).uri);
}

/** Joins continuation lines (leading whitespace) to the header they continue (RFC 3261 7.3.1). */
function unfold(lines: string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    if (/^[ \t]/.test(line) && out.length > 0) out[out.length - 1] += ' ' + line.trim();
    else out.push(line);
  }
  return out;
}

function parseStartLine(line: string): SipMessage {
  const status = /^SIP\/2\.0 ([1-6]\d\d) ?(.*)$/.exec(line);
  if (status) {
    return {
      kind: 'response',
      status: Number(status[1]),
      reason: status[2] ?? '',
      headers: new Map(),
      body: '',
    };
  }
  const request = /^([!%*+\-.`'~0-9A-Za-z_]+) (\S+) SIP\/2\.0$/.exec(line);
  if (!request) throw new ParseError(`bad start line: ${line.slice(0, 60)}`);
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(request[2] ?? '')) throw new ParseError('bad Request-URI');
  return {
    kind: 'request',
    method: request[1] ?? '',
    uri: request[2] ?? '',
    headers: new Map(),
    body: '',
  };
}

export function serialize(msg: SipMessage): Buffer {
  const body = Buffer.from(msg.body, 'utf8');
  const lines = [
    msg.kind === 'request'
      ? `${msg.method} ${msg.uri} SIP/2.0`
      : `SIP/2.0 ${msg.status} ${msg.reason}`,
  ];
  for (const [name, values] of msg.headers) {
    if (name === 'content-length') continue;
    for (const v of values) lines.push(`${displayName(name)}: ${v}`);
  }
  lines.push(`Content-Length: ${body.length}`, '', '');
  return Buffer.concat([Buffer.from(lines.join('\r\n'), 'utf8'), body]);
}

// ---- header access -------------------------------------------------------------------------

export function getHeader(msg: { headers: SipHeaders }, name: string): string | undefined {
  return msg.headers.get(canonicalName(name))?.[0];
}

export function getHeaders(msg: { headers: SipHeaders }, name: string): string[] {
  return msg.headers.get(canonicalName(name)) ?? [];
}

/** Appends; multi-value headers are split into their entries. */
export function addHeader(msg: { headers: SipHeaders }, name: string, value: string): void {
  const key = canonicalName(name);
  const values = MULTI.has(key) ? splitCommas(value) : [value];
  msg.headers.set(key, [...(msg.headers.get(key) ?? []), ...values]);
}

export function setHeader(
  msg: { headers: SipHeaders },
  name: string,
  value: string | string[],
): void {
  msg.headers.set(canonicalName(name), Array.isArray(value) ? [...value] : [value]);
}

export function removeHeader(msg: { headers: SipHeaders }, name: string): void {
  msg.headers.delete(canonicalName(name));
}

// ---- URIs, name-addr, Via, CSeq ------------------------------------------------------------

export type Params = Record<string, string | null>;

export interface SipUri {
  scheme: string;
  user?: string;
  host: string;
  port?: number;
  params: Params;
  headers?: string;
}

function parseParams(s: string): Params {
  const params: Params = {};
  for (const part of s.split(';')) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf('=');
    if (eq < 0) params[p.toLowerCase()] = null;
    else
      params[p.slice(0, eq).trim().toLowerCase()] = p
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1');
  }
  return params;
}

function formatParams(params: Params): string {
  return Object.entries(params)
    .map(([k, v]) => (v === null ? `;${k}` : `;${k}=${v}`))
    .join('');
}

export function parseUri(s: string): SipUri {
  const m = /^(sips?):(?:([^@]+)@)?(\[[^\]]+\]|[^:;?]+)(?::(\d+))?((?:;[^?]*)?)(?:\?(.*))?$/i.exec(
    s.trim(),
  );
  if (!m) throw new ParseError(`bad SIP URI: ${s.slice(0, 60)}`);
  const uri: SipUri = {
    scheme: (m[1] ?? 'sip').toLowerCase(),
    host: m[3] ?? '',
    params: parseParams(m[5] ?? ''),
  };
  if (m[2] !== undefined) uri.user = m[2].split(':')[0];
  if (m[4] !== undefined) uri.port = portNumber(m[4], s);
  if (m[6] !== undefined) uri.headers = m[6];
  return uri;
}

function portNumber(digits: string, context: string): number {
  const port = Number(digits);
  if (!(port >= 1 && port <= 65535)) throw new ParseError(`bad port: ${context.slice(0, 60)}`);
  return port;
}

export function formatUri(u: SipUri): string {
  const user = u.user !== undefined ? `${u.user}@` : '';
  const port = u.port !== undefined ? `:${u.port}` : '';
  const headers = u.headers !== undefined ? `?${u.headers}` : '';
  return `${u.scheme}:${user}${u.host}${port}${formatParams(u.params)}${headers}`;
}

export interface NameAddr {
  display?: string;
  uri: string;
  /** Header parameters (tag, expires...), not the URI's. */
  params: Params;
}

/** `"Alice" <sip:a@h;lr>;tag=1`, `<sip:a@h>`, or a bare URI whose `;` params are header params. */
export function parseNameAddr(s: string): NameAddr {
  const v = s.trim();
  // A quoted display name may itself hold '<' (caller data is untrusted): skip past it.
  const quoted = /^"(?:[^"\\]|\\.)*"/.exec(v);
  const lt = v.indexOf('<', quoted ? quoted[0].length : 0);
  if (lt >= 0) {
    const gt = v.indexOf('>', lt);
    if (gt < 0) throw new ParseError(`unterminated <: ${v.slice(0, 60)}`);
    const display = v
      .slice(0, lt)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    const out: NameAddr = { uri: v.slice(lt + 1, gt).trim(), params: parseParams(v.slice(gt + 1)) };
    if (display) out.display = display;
    return out;
  }
  const semi = v.indexOf(';');
  return semi < 0
    ? { uri: v, params: {} }
    : { uri: v.slice(0, semi), params: parseParams(v.slice(semi)) };
}

export function formatNameAddr(n: NameAddr): string {
  const display = n.display ? `"${n.display.replace(/(["\\])/g, '\\$1')}" ` : '';
  return `${display}<${n.uri}>${formatParams(n.params)}`;
}

/** The `tag` parameter of a From or To header. */
export function tagOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  return parseNameAddr(header).params.tag ?? undefined;
}

export interface Via {
  transport: string;
  host: string;
  port?: number;
  params: Params;
}

export function parseVia(s: string): Via {
  const m =
    /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)\s+(\[[^\]]+\]|[^\s:;]+)(?:\s*:\s*(\d+))?\s*((?:;.*)?)$/i.exec(
      s.trim(),
    );
  if (!m) throw new ParseError(`bad Via: ${s.slice(0, 60)}`);
  const via: Via = {
    transport: (m[1] ?? '').toUpperCase(),
    host: m[2] ?? '',
    params: parseParams(m[4] ?? ''),
  };
  if (m[3] !== undefined) via.port = portNumber(m[3], s);
  return via;
}

export function formatVia(v: Via): string {
  return `SIP/2.0/${v.transport} ${v.host}${v.port !== undefined ? `:${v.port}` : ''}${formatParams(v.params)}`;
}

export function parseCSeq(s: string): { seq: number; method: string } {
  const m = /^(\d{1,10})\s+(\S+)$/.exec(s.trim());
  // RFC 3261 8.1.1.5: the number is below 2**31.
  if (!m || Number(m[1]) >= 2 ** 31) throw new ParseError(`bad CSeq: ${s.slice(0, 40)}`);
  return { seq: Number(m[1]), method: m[2] ?? '' };
}

/** The Expires a response grants: the header, else the Contact's parameter. */
export function expiresOf(msg: SipMessage): number | undefined {
  const header = getHeader(msg, 'expires');
  if (header !== undefined && /^\d+$/.test(header.trim())) return Number(header.trim());
  for (const c of getHeaders(msg, 'contact')) {
    const e = parseNameAddr(c).params.expires;
    if (e && /^\d+$/.test(e)) return Number(e);
  }
  return undefined;
}

// ---- identifiers and responses -------------------------------------------------------------

const token = (bytes: number): string => randomBytes(bytes).toString('hex');

export const newTag = (): string => token(6);
/** RFC 3261 8.1.1.7: the magic cookie marks branches that are unique per transaction. */
export const newBranch = (): string => `z9hG4bK${token(10)}`;
export const newCallId = (host: string): string => `${token(12)}@${host}`;

export const REASONS: Record<number, string> = {
  100: 'Trying',
  180: 'Ringing',
  183: 'Session Progress',
  200: 'OK',
  202: 'Accepted',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  489: 'Bad Event',
  491: 'Request Pending',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  603: 'Decline',
};

/** RFC 3261 8.2.6: copies Via, From, To, Call-ID and CSeq; adds a To tag if there is none. */
export function makeResponse(
  req: SipRequest,
  status: number,
  reason?: string,
  toTag?: string,
): SipResponse {
  const res: SipResponse = {
    kind: 'response',
    status,
    reason: reason ?? REASONS[status] ?? 'Unknown',
    headers: new Map(),
    body: '',
  };
  for (const name of ['via', 'from', 'to', 'call-id', 'cseq']) {
    const values = req.headers.get(name);
    if (values) res.headers.set(name, [...values]);
  }
  const to = getHeader(res, 'to');
  if (to !== undefined && status > 100 && toTag && !hasTag(to)) {
    setHeader(res, 'to', `${to};tag=${toTag}`);
  }
  return res;
}

/** Never throws: a 400 to a request whose To does not parse still goes out (without a tag). */
function hasTag(to: string): boolean {
  try {
    return tagOf(to) !== undefined;
  } catch {
    return true;
  }
}

export function createRequest(method: string, uri: string): SipRequest {
  return { kind: 'request', method, uri, headers: new Map(), body: '' };
}
