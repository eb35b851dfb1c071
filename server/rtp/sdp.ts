/**
 * SDP offer/answer (RFC 3264) for one G.711 audio stream, on top of sdp-transform. We answer
 * PCMU or PCMA in the offer's preference order, mirror the offerer's telephone-event payload
 * type, and echo its ptime. Directions are reported from our side: a phone putting us on hold
 * (a=sendonly, a=inactive, or the old c=0.0.0.0) gets recvonly/inactive.
 */
import sdpTransform from 'sdp-transform';
import type { MediaDescription, SessionDescription } from 'sdp-transform';
import { NoCommonCodec, RtpError } from './errors.ts';

export type Codec = 'PCMU' | 'PCMA';
export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface Negotiated {
  codec: Codec;
  payloadType: number;
  dtmfPayloadType: number | null;
  remote: { address: string; port: number };
  ptimeMs: number;
  /** Our direction: 'recvonly' or 'inactive' means the peer holds the call. */
  direction: Direction;
}

export interface LocalMedia {
  /** The address peers send media to (the configured media IP). */
  address: string;
  port: number;
  /** o= session id; keep it for the dialog and raise `version` on each re-answer. */
  sessionId?: string;
  version?: number;
}

const STATIC_PT: Record<number, Codec> = { 0: 'PCMU', 8: 'PCMA' };
const DEFAULT_DTMF_PT = 101;
const DEFAULT_PTIME = 20;
const RTP_PROFILES = new Set(['RTP/AVP', 'RTP/AVPF']);

const REVERSE: Record<Direction, Direction> = {
  sendrecv: 'sendrecv',
  sendonly: 'recvonly',
  recvonly: 'sendonly',
  inactive: 'inactive',
};

function parse(text: string, what: string): SessionDescription {
  if (typeof text !== 'string' || !/^v=0\s*$/m.test(text.split('\n', 1)[0] ?? ''))
    throw new RtpError('BAD_SDP', `the ${what} is not SDP: it must start with "v=0"`);
  let sdp: SessionDescription;
  try {
    sdp = sdpTransform.parse(text);
  } catch (err) {
    throw new RtpError('BAD_SDP', `the ${what} could not be parsed as SDP`, { cause: err });
  }
  if (!Array.isArray(sdp.media) || sdp.media.length === 0)
    throw new RtpError('BAD_SDP', `the ${what} has no m= line`);
  for (const m of sdp.media) {
    if (!Number.isInteger(m.port) || m.port < 0 || m.port > 65535 || !m.protocol)
      throw new RtpError('BAD_SDP', `the ${what} has a malformed m= line`);
  }
  return sdp;
}

function payloadList(m: MediaDescription): number[] {
  return String(m.payloads ?? '')
    .trim()
    .split(/\s+/)
    .filter((p) => /^\d+$/.test(p))
    .map(Number);
}

function codecOf(m: MediaDescription, pt: number): Codec | null {
  const map = m.rtp.find((r) => r.payload === pt);
  if (!map) return STATIC_PT[pt] ?? null;
  const name = map.codec.toUpperCase();
  return (name === 'PCMU' || name === 'PCMA') && map.rate === 8000 ? name : null;
}

function dtmfOf(m: MediaDescription, offered: number[]): number | null {
  const ev = m.rtp.find(
    (r) =>
      r.codec.toLowerCase() === 'telephone-event' && r.rate === 8000 && offered.includes(r.payload),
  );
  return ev ? ev.payload : null;
}

function pickAudio(sdp: SessionDescription, what: string) {
  let sawAudio = false;
  for (let index = 0; index < sdp.media.length; index++) {
    const m = sdp.media[index]!;
    if (m.type !== 'audio' || m.port === 0) continue;
    sawAudio = true;
    if (!RTP_PROFILES.has(m.protocol.toUpperCase())) continue;
    const pts = payloadList(m);
    for (const pt of pts) {
      const codec = codecOf(m, pt);
      if (codec) return { index, m, codec, payloadType: pt, dtmfPayloadType: dtmfOf(m, pts) };
    }
  }
  throw new NoCommonCodec(
    sawAudio
      ? `the ${what} offers no PCMU or PCMA over plain RTP/AVP`
      : `the ${what} has no active audio stream`,
  );
}

function remoteOf(sdp: SessionDescription, m: MediaDescription, what: string) {
  const c = m.connection ?? sdp.connection;
  if (!c?.ip) throw new RtpError('BAD_SDP', `the ${what} has no c= line for its audio`);
  return { address: c.ip, port: m.port };
}

function peerDirection(sdp: SessionDescription, m: MediaDescription): Direction {
  return m.direction ?? sdp.direction ?? 'sendrecv';
}

/** c=0.0.0.0 is RFC 2543 hold: the peer wants nothing sent to it. */
function isNullAddress(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

function session(local: LocalMedia): SessionDescription {
  const ipVer = local.address.includes(':') ? 6 : 4;
  return {
    version: 0,
    origin: {
      username: 'voicegate',
      sessionId: local.sessionId ?? String(Date.now()),
      sessionVersion: local.version ?? 0,
      netType: 'IN',
      ipVer,
      address: local.address,
    },
    name: 'Voicegate',
    connection: { version: ipVer, ip: local.address },
    timing: { start: 0, stop: 0 },
    media: [],
  };
}

function audioMedia(
  port: number,
  protocol: string,
  codecs: { pt: number; codec: Codec }[],
  dtmfPt: number | null,
  ptime: number,
  direction: Direction,
): MediaDescription {
  const rtp: MediaDescription['rtp'] = codecs.map(({ pt, codec }) => ({
    payload: pt,
    codec,
    rate: 8000,
  }));
  const fmtp: MediaDescription['fmtp'] = [];
  if (dtmfPt !== null) {
    rtp.push({ payload: dtmfPt, codec: 'telephone-event', rate: 8000 });
    fmtp.push({ payload: dtmfPt, config: '0-16' });
  }
  return {
    type: 'audio',
    port,
    protocol,
    payloads: rtp.map((r) => r.payload).join(' '),
    rtp,
    fmtp,
    ptime,
    direction,
  };
}

/**
 * Answers an offer (an initial INVITE or a re-INVITE). Throws NoCommonCodec (-> SIP 488) when
 * no G.711 is offered, RtpError BAD_SDP when the offer is not usable SDP.
 */
export function answerOffer(offer: string, local: LocalMedia): Negotiated & { answer: string } {
  const sdp = parse(offer, 'offer');
  const chosen = pickAudio(sdp, 'offer');
  const remote = remoteOf(sdp, chosen.m, 'offer');
  let direction = REVERSE[peerDirection(sdp, chosen.m)];
  if (isNullAddress(remote.address))
    direction = direction === 'sendrecv' || direction === 'recvonly' ? 'recvonly' : 'inactive';
  const ptimeMs = chosen.m.ptime && chosen.m.ptime > 0 ? chosen.m.ptime : DEFAULT_PTIME;

  const answer = session(local);
  // RFC 3264 section 6: one m= line per offered one; the streams we decline get port 0.
  answer.media = sdp.media.map((m, i) => {
    if (i === chosen.index)
      return audioMedia(
        local.port,
        chosen.m.protocol,
        [{ pt: chosen.payloadType, codec: chosen.codec }],
        chosen.dtmfPayloadType,
        ptimeMs,
        direction,
      );
    return {
      type: m.type,
      port: 0,
      protocol: m.protocol,
      payloads: payloadList(m)[0]?.toString() ?? '0',
      rtp: [],
      fmtp: [],
    };
  });
  return {
    answer: sdpTransform.write(answer),
    codec: chosen.codec,
    payloadType: chosen.payloadType,
    dtmfPayloadType: chosen.dtmfPayloadType,
    remote,
    ptimeMs,
    direction,
  };
}

/** Our offer for an outbound call: PCMU 0, PCMA 8, telephone-event 101, 20 ms. */
export function makeOffer(local: LocalMedia): string {
  const sdp = session(local);
  sdp.media = [
    audioMedia(
      local.port,
      'RTP/AVP',
      [
        { pt: 0, codec: 'PCMU' },
        { pt: 8, codec: 'PCMA' },
      ],
      DEFAULT_DTMF_PT,
      DEFAULT_PTIME,
      'sendrecv',
    ),
  ];
  return sdpTransform.write(sdp);
}

/** Reads the answer to our offer: the codec the peer picked, its address and its direction. */
export function readAnswer(answer: string): Negotiated {
  const sdp = parse(answer, 'answer');
  const chosen = pickAudio(sdp, 'answer');
  const remote = remoteOf(sdp, chosen.m, 'answer');
  let direction = REVERSE[peerDirection(sdp, chosen.m)];
  if (isNullAddress(remote.address))
    direction = direction === 'sendrecv' || direction === 'recvonly' ? 'recvonly' : 'inactive';
  return {
    codec: chosen.codec,
    payloadType: chosen.payloadType,
    dtmfPayloadType: chosen.dtmfPayloadType,
    remote,
    ptimeMs: chosen.m.ptime && chosen.m.ptime > 0 ? chosen.m.ptime : DEFAULT_PTIME,
    direction,
  };
}

/** Whether the peer has put the call on hold (we may not send). */
export function isOnHold(n: Pick<Negotiated, 'direction'>): boolean {
  return n.direction === 'recvonly' || n.direction === 'inactive';
}
