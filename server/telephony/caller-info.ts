import type { CallInfo } from '../flows/call.ts';
import type { Peer } from '../sip/api.ts';
import {
  getHeader,
  getHeaders,
  parseNameAddr,
  parseUri,
  splitCommas,
  type SipRequest,
} from '../sip/message.ts';

/** Caller data is untrusted: printable, short, never markup-significant in logs or mail. */
function clean(value: string | undefined, pattern: RegExp, max: number): string | null {
  if (value === undefined) return null;
  let decoded = value;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    // keep it as sent
  }
  const kept = decoded.replace(pattern, '').trim().slice(0, max);
  return kept === '' ? null : kept;
}

const cleanNumber = (v: string | undefined): string | null =>
  clean(v?.replace(/^tel:/i, ''), /[^0-9A-Za-z+*#._-]/g, 32);
const cleanName = (v: string | undefined): string | null =>
  clean(v, /[\u0000-\u001f\u007f<>"]/g, 64);

function userOf(nameAddr: string | undefined): { user?: string; display?: string } {
  if (!nameAddr) return {};
  try {
    const na = parseNameAddr(nameAddr);
    if (/^tel:/i.test(na.uri)) return { user: na.uri.slice(4).split(';')[0], display: na.display };
    return { user: parseUri(na.uri).user, display: na.display };
  } catch {
    return {};
  }
}

/** Diversion (RFC 5806) first, else History-Info (RFC 7044): the number first called. */
function forwarding(req: SipRequest): { from: string | null; reason: string | null } {
  const diversion = getHeaders(req, 'diversion').flatMap(splitCommas);
  if (diversion.length > 0) {
    // The last entry is the original called party; each hop adds one at the top.
    const original = diversion[diversion.length - 1]!;
    try {
      const na = parseNameAddr(original);
      return { from: cleanNumber(userOf(original).user), reason: na.params.reason ?? null };
    } catch {
      return { from: null, reason: null };
    }
  }
  const history = getHeaders(req, 'history-info').flatMap(splitCommas);
  if (history.length > 1) {
    const entries = history.map((h) => {
      try {
        const na = parseNameAddr(h);
        const uri = na.uri.split('?')[0]!;
        const cause = /cause(?:=|%3D)(\d+)/i.exec(na.uri)?.[1] ?? null;
        return { user: userOf(`<${uri}>`).user, index: na.params.index ?? '', cause };
      } catch {
        return { user: undefined, index: '', cause: null };
      }
    });
    const first = entries.find((e) => e.index === '1') ?? entries[0]!;
    const retarget = entries.find((e) => e.cause !== null);
    const reasons: Record<string, string> = {
      '486': 'user-busy',
      '408': 'no-answer',
      '480': 'no-answer',
      '302': 'unconditional',
    };
    return {
      from: cleanNumber(first.user),
      reason: retarget ? (reasons[retarget.cause!] ?? retarget.cause) : null,
    };
  }
  return { from: null, reason: null };
}

/**
 * The facts a call flow may use, read from an INVITE. P-Asserted-Identity (RFC 3325) is read
 * only from a trusted peer: from anyone else it is a claim like any other, and ignored.
 */
export function callInfo(req: SipRequest, source: Peer, fromTrustedPeer = false): CallInfo {
  const privacy = (getHeader(req, 'privacy') ?? '').toLowerCase();
  const asserted = fromTrustedPeer ? userOf(getHeader(req, 'p-asserted-identity')) : {};
  const from = userOf(getHeader(req, 'from'));
  const withheld =
    /\bid\b|\buser\b/.test(privacy) || /^anonymous$/i.test(asserted.user ?? from.user ?? '');
  const caller = asserted.user !== undefined ? asserted : from;
  let dialled: string | undefined;
  try {
    dialled = parseUri(req.uri).user;
  } catch {
    dialled = undefined;
  }
  dialled ??= userOf(getHeader(req, 'to')).user;
  const forwarded = forwarding(req);
  const language = getHeader(req, 'accept-language')?.split(',')[0]?.split(';')[0]?.trim();
  return {
    callId: getHeader(req, 'call-id') ?? '',
    callerNumber: withheld ? null : cleanNumber(caller.user),
    callerName: withheld ? null : cleanName(caller.display),
    dialled: cleanNumber(dialled) ?? '',
    forwardedFrom: forwarded.from,
    forwardReason: forwarded.reason,
    language:
      language && /^[a-z]{2,3}(-[a-z]{2})?$/i.test(language)
        ? language.replace(/^(\w+)(?:-(\w+))?$/, (_m, l: string, r?: string) =>
            r ? `${l.toLowerCase()}-${r.toUpperCase()}` : l.toLowerCase(),
          )
        : null,
    remote: `${source.address}:${source.port}`,
    ...(fromTrustedPeer ? { vouchedBy: 'peer' as const } : {}),
  };
}
