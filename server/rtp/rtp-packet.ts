/**
 * RTP fixed header (RFC 3550 section 5.1). Parsing never throws: anything that is not a
 * well-formed version-2 packet comes back as null, so a socket handler can count it and move on.
 * The payload is a view into the datagram, not a copy.
 */

export const RTP_HEADER_BYTES = 12;

export interface RtpHeader {
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
}

export interface RtpPacket extends RtpHeader {
  padding: boolean;
  csrc: number[];
  extension: { profile: number; data: Uint8Array } | null;
  payload: Uint8Array;
}

export interface BuildRtpInput extends RtpHeader {
  payload: Uint8Array;
  csrc?: number[];
  extension?: { profile: number; data: Uint8Array } | null;
  /** Bytes of padding to append (1-255, sets the P bit); 0 or absent: none. */
  padding?: number;
}

const EMPTY_CSRC: number[] = [];

export function parseRtp(buf: Uint8Array): RtpPacket | null {
  const len = buf.length;
  if (len < RTP_HEADER_BYTES) return null;
  const b0 = buf[0]!;
  if (b0 >> 6 !== 2) return null;
  const b1 = buf[1]!;
  const payloadType = b1 & 0x7f;
  // RTCP multiplexed on the RTP port (RFC 5761) uses packet types 200-204: not media.
  if (payloadType >= 72 && payloadType <= 76) return null;
  const view = new DataView(buf.buffer, buf.byteOffset, len);
  const cc = b0 & 0x0f;
  let offset = RTP_HEADER_BYTES + cc * 4;
  if (offset > len) return null;
  let csrc = EMPTY_CSRC;
  if (cc > 0) {
    csrc = [];
    for (let i = 0; i < cc; i++) csrc.push(view.getUint32(RTP_HEADER_BYTES + i * 4));
  }
  let extension: RtpPacket['extension'] = null;
  if (b0 & 0x10) {
    if (offset + 4 > len) return null;
    const profile = view.getUint16(offset);
    const words = view.getUint16(offset + 2);
    const end = offset + 4 + words * 4;
    if (end > len) return null;
    extension = { profile, data: buf.subarray(offset + 4, end) };
    offset = end;
  }
  let end = len;
  const padding = (b0 & 0x20) !== 0;
  if (padding) {
    const pad = buf[len - 1]!;
    if (pad === 0 || offset + pad > len) return null;
    end = len - pad;
  }
  return {
    marker: (b1 & 0x80) !== 0,
    payloadType,
    sequence: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
    padding,
    csrc,
    extension,
    payload: buf.subarray(offset, end),
  };
}

/** Writes the 12-byte fixed header (no CSRC, no extension) at `offset`; the sender's hot path. */
export function writeRtpHeader(buf: Buffer, offset: number, h: RtpHeader): void {
  buf[offset] = 0x80;
  buf[offset + 1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  buf.writeUInt16BE(h.sequence & 0xffff, offset + 2);
  buf.writeUInt32BE(h.timestamp >>> 0, offset + 4);
  buf.writeUInt32BE(h.ssrc >>> 0, offset + 8);
}

export function buildRtp(p: BuildRtpInput): Buffer {
  const csrc = p.csrc ?? EMPTY_CSRC;
  if (csrc.length > 15) throw new RangeError('an RTP packet carries at most 15 CSRCs');
  const ext = p.extension ?? null;
  if (ext && ext.data.length % 4 !== 0)
    throw new RangeError('RTP header extension data must be a multiple of 4 bytes');
  const headerLen = RTP_HEADER_BYTES + csrc.length * 4 + (ext ? 4 + ext.data.length : 0);
  const unpadded = headerLen + p.payload.length;
  const pad = p.padding ?? 0;
  if (!Number.isInteger(pad) || pad < 0 || pad > 255)
    throw new RangeError('RTP padding is 0 to 255 bytes');
  const buf = Buffer.alloc(unpadded + pad);
  writeRtpHeader(buf, 0, p);
  buf[0] = 0x80 | (pad ? 0x20 : 0) | (ext ? 0x10 : 0) | csrc.length;
  let offset = RTP_HEADER_BYTES;
  for (const c of csrc) {
    buf.writeUInt32BE(c >>> 0, offset);
    offset += 4;
  }
  if (ext) {
    buf.writeUInt16BE(ext.profile & 0xffff, offset);
    buf.writeUInt16BE(ext.data.length / 4, offset + 2);
    buf.set(ext.data, offset + 4);
    offset += 4 + ext.data.length;
  }
  buf.set(p.payload, offset);
  if (pad) buf[buf.length - 1] = pad;
  return buf;
}

/** Signed distance a - b between two 32-bit RTP timestamps, correct across wrap-around. */
export function tsDiff(a: number, b: number): number {
  return ((a >>> 0) - (b >>> 0)) | 0;
}
