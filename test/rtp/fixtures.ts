import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { parseRtp } from '../../server/rtp/rtp-packet.ts';
import type { RtpPacket } from '../../server/rtp/rtp-packet.ts';

export const SIPP_PCAPS = '/usr/share/sip-tester';

/**
 * The RTP datagrams in a classic pcap file (SIPp's bundled ones: Ethernet, IPv4, UDP), read by
 * hand: a 24-byte global header, then per record a 16-byte header and the captured bytes.
 */
export function readPcapRtp(path: string): { raw: Buffer; rtp: RtpPacket }[] {
  const b = readFileSync(path);
  if (b.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${path}: not a little-endian pcap`);
  if (b.readUInt32LE(20) !== 1) throw new Error(`${path}: not an Ethernet capture`);
  const out: { raw: Buffer; rtp: RtpPacket }[] = [];
  for (let o = 24; o + 16 <= b.length;) {
    const captured = b.readUInt32LE(o + 8);
    const frame = b.subarray(o + 16, o + 16 + captured);
    o += 16 + captured;
    if (frame.readUInt16BE(12) !== 0x0800 || frame[23] !== 17) continue; // IPv4, UDP
    const udp = 14 + (frame[14]! & 0x0f) * 4;
    const raw = frame.subarray(udp + 8, udp + frame.readUInt16BE(udp + 4));
    const rtp = parseRtp(raw);
    if (rtp) out.push({ raw, rtp });
  }
  return out;
}

export function sine(frequency: number, ms: number, amplitude = 8000): Int16Array {
  const n = Math.round(ms * 8);
  return Int16Array.from({ length: n }, (_, i) =>
    Math.round(amplitude * Math.sin((2 * Math.PI * frequency * i) / 8000)),
  );
}

export interface Peer {
  socket: Socket;
  port: number;
  received: { msg: Buffer; at: number; from: number }[];
  send(msg: Uint8Array, port: number): Promise<void>;
  close(): Promise<void>;
}

/** A plain UDP socket on 127.0.0.1 that records what it gets: the far end of a call. */
export async function udpPeer(): Promise<Peer> {
  const socket = createSocket('udp4');
  const received: Peer['received'] = [];
  socket.on('message', (msg, rinfo) =>
    received.push({ msg, at: performance.now(), from: rinfo.port }),
  );
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    socket,
    port: socket.address().port,
    received,
    send: (msg, port) =>
      new Promise((resolve, reject) =>
        socket.send(msg, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
      ),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

export async function waitFor(
  cond: () => boolean,
  timeoutMs = 3000,
  what = 'condition',
): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
