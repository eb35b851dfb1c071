/**
 * The SIP text the benchmark's callers send (sip-calls.ts), and the one header reader they
 * need: a UAC over UDP on 127.0.0.1 that places one call per leg, PCMU and telephone-event.
 */
import { randomBytes } from 'node:crypto';

/** What a call's requests carry; `local` and `server` are host:port. */
export interface Leg {
  i: number;
  number: string;
  extension: number;
  callId: string;
  fromTag: string;
  inviteBranch: string;
  toTag: string | null;
  remoteTarget: string;
  local: string;
  server: string;
}

export const token = (): string => randomBytes(6).toString('hex');
export const branch = (): string => `z9hG4bK${token()}`;

/** The first value of a header (give the long and compact names as a regex alternative). */
export function header(text: string, name: string): string | undefined {
  const re = new RegExp(`^${name}[ \\t]*:[ \\t]*(.*)$`, 'im');
  return re.exec(text)?.[1]?.trim();
}

function message(lines: string[], body = ''): string {
  return `${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

const from = (l: Leg): string =>
  `From: "Bench ${l.i}" <sip:${l.number}@${l.local}>;tag=${l.fromTag}`;

export function invite(l: Leg, rtpPort: number): string {
  const sdp = [
    'v=0',
    `o=bench ${l.i} 1 IN IP4 127.0.0.1`,
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${rtpPort} RTP/AVP 0 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-16',
    'a=ptime:20',
    'a=sendrecv',
    '',
  ].join('\r\n');
  return message(
    [
      `INVITE sip:${l.extension}@${l.server} SIP/2.0`,
      `Via: SIP/2.0/UDP ${l.local};branch=${l.inviteBranch};rport`,
      'Max-Forwards: 70',
      from(l),
      `To: <sip:${l.extension}@${l.server}>`,
      `Call-ID: ${l.callId}`,
      'CSeq: 1 INVITE',
      `Contact: <sip:${l.number}@${l.local}>`,
      'Content-Type: application/sdp',
    ],
    sdp,
  );
}

/** ACK to a failure response: the INVITE's branch, the response's To. */
export function ackFailure(l: Leg, to: string): string {
  return message([
    `ACK sip:${l.extension}@${l.server} SIP/2.0`,
    `Via: SIP/2.0/UDP ${l.local};branch=${l.inviteBranch};rport`,
    'Max-Forwards: 70',
    from(l),
    `To: ${to}`,
    `Call-ID: ${l.callId}`,
    'CSeq: 1 ACK',
  ]);
}

/** ACK to a 2xx, BYE: to the remote target, with both tags. */
export function inDialog(l: Leg, method: string, cseq: number): string {
  return message([
    `${method} ${l.remoteTarget} SIP/2.0`,
    `Via: SIP/2.0/UDP ${l.local};branch=${branch()};rport`,
    'Max-Forwards: 70',
    from(l),
    `To: <sip:${l.extension}@${l.server}>;tag=${l.toTag}`,
    `Call-ID: ${l.callId}`,
    `CSeq: ${cseq} ${method}`,
  ]);
}

/** The answer to a request the server sent in a dialog: 200 to a BYE, 405 to anything else. */
export function answer(request: string): string {
  const method = request.slice(0, request.indexOf(' '));
  const copy = ['via', 'from', 'to', 'call-id', 'cseq'].flatMap((name) =>
    [...request.matchAll(new RegExp(`^${name}[ \\t]*:.*$`, 'gim'))].map((m) => m[0]),
  );
  return message([`SIP/2.0 ${method === 'BYE' ? '200 OK' : '405 Not Allowed'}`, ...copy]);
}
