import { afterEach, describe, expect, it } from 'vitest';
import { decodeAlaw, decodeUlaw, linearToUlaw } from '../../server/media/g711.ts';
import { buildTelephoneEvent, parseTelephoneEvent } from '../../server/rtp/dtmf.ts';
import { MediaClock } from '../../server/rtp/media-clock.ts';
import { PortPool } from '../../server/rtp/port-pool.ts';
import { Recorder } from '../../server/rtp/recorder.ts';
import { buildRtp, parseRtp } from '../../server/rtp/rtp-packet.ts';
import { RtpSession } from '../../server/rtp/rtp-session.ts';
import type { RtpSessionOptions } from '../../server/rtp/rtp-session.ts';
import type { Negotiated } from '../../server/rtp/sdp.ts';
import { freePortRange } from '../helpers/free-port.ts';
import { toneRatio } from '../helpers/goertzel.ts';
import { SIPP_PCAPS, type Peer, readPcapRtp, sine, sleep, udpPeer, waitFor } from './fixtures.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function session(opts: Partial<RtpSessionOptions> = {}): Promise<RtpSession> {
  const s = await RtpSession.open({
    pool: new PortPool(0, 0),
    bindAddress: '127.0.0.1',
    clock: new MediaClock(),
    ...opts,
  });
  cleanup.push(() => s.close());
  return s;
}

async function peer(): Promise<Peer> {
  const p = await udpPeer();
  cleanup.push(() => p.close());
  return p;
}

function neg(port: number, over: Partial<Negotiated> = {}): Negotiated {
  return {
    codec: 'PCMU',
    payloadType: 0,
    dtmfPayloadType: 101,
    remote: { address: '127.0.0.1', port },
    ptimeMs: 20,
    direction: 'sendrecv',
    ...over,
  };
}

/** Collects what the session delivers through onAudio. */
function collect(s: RtpSession) {
  const chunks: Int16Array[] = [];
  s.onAudio((c) => chunks.push(c));
  return { chunks, samples: () => chunks.reduce((n, c) => n + c.length, 0) };
}

/** A µ-law packet whose every sample decodes to `level`, so order is visible in the output. */
function levelPacket(seq: number, ts: number, level: number, ssrc = 0x1234, len = 160): Buffer {
  const payload = new Uint8Array(len).fill(linearToUlaw(level));
  return buildRtp({ marker: false, payloadType: 0, sequence: seq, timestamp: ts, ssrc, payload });
}
/** The level a levelPacket() was made with (µ-law quantises 4000 to 4096). */
const levelOf = (c: Int16Array) => Math.round(c[0]! / 1000) * 1000;

describe('RtpSession sending', () => {
  it('paces 20 ms packets with +1 seq, +160 ts, one SSRC, a marker on the first, the tone intact', async () => {
    const far = await peer();
    const s = await session();
    s.configure(neg(far.port));
    const tone = sine(1000, 1000 - 7.5); // not a whole number of frames: the last is padded
    const t0 = performance.now();
    expect(await s.play(tone)).toBe('done');
    expect(performance.now() - t0).toBeGreaterThan(900);
    await waitFor(() => far.received.length === 50, 1000, '50 packets');
    const pkts = far.received.map((r) => parseRtp(r.msg)!);
    for (let i = 1; i < pkts.length; i++) {
      expect(pkts[i]!.sequence).toBe((pkts[0]!.sequence + i) & 0xffff);
      expect(pkts[i]!.timestamp).toBe((pkts[0]!.timestamp + i * 160) >>> 0);
      expect(pkts[i]!.ssrc).toBe(pkts[0]!.ssrc);
      expect(pkts[i]!.marker).toBe(false);
    }
    expect(pkts[0]!.marker).toBe(true);
    expect(pkts.every((p) => p.payloadType === 0 && p.payload.length === 160)).toBe(true);
    expect([...pkts[49]!.payload.subarray(100)].every((b) => b === 0xff)).toBe(true); // µ-law silence
    const gaps = far.received.slice(1).map((r, i) => r.at - far.received[i]!.at);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    expect(mean).toBeGreaterThan(18.5);
    expect(mean).toBeLessThan(21.5);
    const audio = decodeUlaw(Buffer.concat(pkts.map((p) => p.payload)));
    expect(toneRatio(audio.subarray(0, 7900), 1000)).toBeGreaterThan(0.95);
    expect(s.stats().packetsOut).toBe(50);
  });

  it('stop() ends playback at once; the next play is a new talkspurt with later timestamps', async () => {
    const far = await peer();
    const s = await session();
    s.configure(neg(far.port, { codec: 'PCMA', payloadType: 8 }));
    const playing = s.play(sine(440, 2000));
    await sleep(100);
    s.stop();
    expect(await playing).toBe('stopped');
    await sleep(60);
    const sent = far.received.length;
    expect(sent).toBeLessThan(10);
    expect(await s.play(sine(440, 40))).toBe('done');
    await waitFor(() => far.received.length === sent + 2, 500, 'the second talkspurt');
    const first = parseRtp(far.received[sent - 1]!.msg)!;
    const next = parseRtp(far.received[sent]!.msg)!;
    expect(next.marker).toBe(true);
    expect(next.payloadType).toBe(8);
    expect(next.sequence).toBe((first.sequence + 1) & 0xffff);
    // The pause of about 60 ms shows in the timestamps: they follow the clock, not the packets.
    expect((next.timestamp - first.timestamp) >>> 0).toBeGreaterThan(50 * 8);
  });

  it('sends nothing while the peer holds the call, but time passes', async () => {
    const far = await peer();
    const s = await session();
    s.configure(neg(far.port, { direction: 'recvonly' }));
    expect(await s.play(sine(440, 100))).toBe('done');
    await sleep(30);
    expect(far.received).toHaveLength(0);
  });

  it('sends a key as RFC 4733 that another session decodes once', async () => {
    const a = await session();
    const b = await session();
    a.configure(neg(b.port));
    b.configure(neg(a.port));
    const keys: string[] = [];
    b.onKey((k) => keys.push(k));
    await a.sendDtmf('#');
    await a.sendDtmf('7');
    await waitFor(() => keys.length === 2, 1000, 'two keys');
    await sleep(40);
    expect(keys).toEqual(['#', '7']);
    expect(a.stats().packetsOut).toBe(16); // 5 updates + 3 end packets each
  });
});

describe('RtpSession receiving', () => {
  it('reorders, drops duplicates, fills gaps with silence and re-bases on an SSRC change', async () => {
    const far = await peer();
    const s = await session({ playoutMs: 40 });
    s.configure(neg(far.port));
    const got = collect(s);
    const base = 0xffffff00; // wraps during the test
    const send = (n: number, ssrc = 0x1234) =>
      far.send(levelPacket(100 + n, base + n * 160, (n + 1) * 1000, ssrc), s.port);
    for (const n of [0, 2, 1, 1, 3, 5, 6, 7, 8]) await send(n); // 4 lost, 1 duplicated
    await waitFor(() => got.samples() >= 9 * 160, 1000, 'audio');
    for (const n of [0, 1]) await far.send(levelPacket(n, 777 + n * 160, 9000, 0x9999), s.port);
    await waitFor(() => got.samples() >= 11 * 160, 1000, 'audio after the SSRC change');
    const levels = got.chunks.map(levelOf);
    expect(levels).toEqual([1000, 2000, 3000, 4000, 0, 6000, 7000, 8000, 9000, 9000, 9000]);
    expect(s.stats()).toMatchObject({ duplicates: 1, lost: 1, ssrcChanges: 1, packetsIn: 11 });
  });

  it("records SIPp's 30 ms PCMA stream (g711a.pcap) at its full length", async () => {
    const far = await peer();
    const s = await session();
    s.configure(neg(far.port, { codec: 'PCMA', payloadType: 8 }));
    const got = collect(s);
    const rec = new Recorder({ maxMs: 60000, silenceMs: 5000 });
    s.onAudio((c) => rec.push(c));
    const packets = readPcapRtp(`${SIPP_PCAPS}/g711a.pcap`);
    expect(packets).toHaveLength(236);
    for (let i = 0; i < packets.length; i++) {
      await far.send(packets[i]!.raw, s.port);
      if (i % 20 === 19) await sleep(2); // faster than real time, gentle on the socket buffer
    }
    await waitFor(() => got.samples() >= 236 * 240, 2000, 'the whole stream');
    rec.stop('hangup');
    const { samples, durationMs } = await rec.done;
    expect(durationMs).toBe(7080);
    const expected = decodeAlaw(Buffer.concat(packets.map((p) => p.rtp.payload)));
    expect(Buffer.from(samples.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    expect(got.chunks.every((c) => c.length === 240)).toBe(true);
  });

  it("decodes SIPp's RFC 4733 pcap and drops the phone's INFO copy of the key", async () => {
    const far = await peer();
    const s = await session();
    s.configure(neg(far.port));
    const keys: string[] = [];
    s.onKey((k) => keys.push(k));
    for (const p of readPcapRtp(`${SIPP_PCAPS}/dtmf_2833_star.pcap`)) await far.send(p.raw, s.port);
    await waitFor(() => keys.length === 1, 1000, 'the key');
    s.infoKey('*');
    await sleep(20);
    expect(keys).toEqual(['*']);
    s.infoKey('4');
    expect(keys).toEqual(['*', '4']);
  });

  it('latches to where the phone really sends from and ignores everyone else', async () => {
    const sdpAddress = await peer();
    const natted = await peer();
    const stranger = await peer();
    const s = await session();
    s.configure(neg(sdpAddress.port));
    const got = collect(s);
    await natted.send(levelPacket(1, 160, 1000), s.port);
    await waitFor(() => got.samples() === 160, 1000, 'the first packet');
    await stranger.send(levelPacket(2, 320, 5000), s.port);
    await sdpAddress.send(levelPacket(2, 320, 5000), s.port);
    await natted.send(levelPacket(2, 320, 2000), s.port);
    await waitFor(() => got.samples() === 320, 1000, 'the second packet');
    expect(got.chunks.map(levelOf)).toEqual([1000, 2000]);
    expect(s.remote).toEqual({ address: '127.0.0.1', port: natted.port });
    await s.play(sine(440, 40));
    await waitFor(() => natted.received.length === 2, 500, 'our audio at the latched address');
    expect(sdpAddress.received).toHaveLength(0);
  });

  it('survives a flood of 20,000 garbage and valid packets with bounded memory', async () => {
    const phone = await peer();
    const attacker = await peer();
    const maxBufferedPackets = 32;
    const s = await session({ maxBufferedPackets });
    s.configure(neg(phone.port));
    const got = collect(s);
    // Bounded consumer: keep only the count, as a recorder at its maximum would.
    got.chunks.length = 0;
    let delivered = 0;
    s.onAudio((c) => (delivered += c.length));
    await phone.send(levelPacket(0, 0, 1000), s.port); // latch to the phone
    await waitFor(() => delivered > 0, 1000, 'latching');
    const heapBefore = process.memoryUsage().heapUsed;
    let maxLag = 0;
    let last = performance.now();
    const lagTimer = setInterval(() => {
      const now = performance.now();
      maxLag = Math.max(maxLag, now - last - 5);
      last = now;
    }, 5);
    const junk = (i: number): Buffer => {
      switch (i % 5) {
        case 0:
          return Buffer.from(
            Array.from({ length: 1 + (i % 200) }, () => (Math.random() * 256) | 0),
          );
        case 1:
          return Buffer.alloc(4000, 0x80); // oversized
        case 2: // valid RTP with wild timestamps, sequence numbers and SSRCs
          return levelPacket(i & 0xffff, (Math.random() * 2 ** 32) >>> 0, 3000, i % 3 ? 0x1234 : i);
        default:
          return levelPacket(i & 0xffff, (i * 160) >>> 0, 4000);
      }
    };
    for (let i = 1; i <= 20000; i++) {
      const p = junk(i);
      const from = i % 4 === 0 ? attacker : phone;
      from.socket.send(p, s.port, '127.0.0.1');
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
      if (i % 1000 === 0) expect(s.stats().buffered).toBeLessThanOrEqual(maxBufferedPackets);
    }
    await sleep(100);
    clearInterval(lagTimer);
    const st = s.stats();
    expect(st.bad + st.foreign + st.packetsIn).toBeGreaterThan(2000);
    expect(st.bad).toBeGreaterThan(0);
    expect(st.buffered).toBeLessThanOrEqual(maxBufferedPackets);
    expect(maxLag).toBeLessThan(500);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    // Still working: a fresh stream from the phone is heard, and so are its keys.
    const keys: string[] = [];
    s.onKey((k) => keys.push(k));
    const before = delivered;
    for (let n = 0; n < 5; n++)
      await phone.send(levelPacket(n, 1_000_000 + n * 160, 2000, 0x7777), s.port);
    const key = buildTelephoneEvent({ event: 3, end: true, volume: 10, duration: 800 });
    await phone.send(
      buildRtp({
        marker: true,
        payloadType: 101,
        sequence: 9,
        timestamp: 5,
        ssrc: 0x7777,
        payload: key,
      }),
      s.port,
    );
    await waitFor(
      () => delivered >= before + 5 * 160 && keys.length === 1,
      1000,
      'audio after the flood',
    );
    expect(keys).toEqual(['3']);
    expect(parseTelephoneEvent(key)?.event).toBe(3);
  });

  it('takes ports from a range, refuses when it is used up, and gives them back on close', async () => {
    const base = await freePortRange(2);
    const pool = new PortPool(base, base + 1);
    const a = await RtpSession.open({ pool, bindAddress: '127.0.0.1' });
    expect(a.port).toBe(base);
    await expect(RtpSession.open({ pool, bindAddress: '127.0.0.1' })).rejects.toThrow(/in use/);
    await a.close();
    await a.close();
    const b = await RtpSession.open({ pool, bindAddress: '127.0.0.1' });
    expect(b.port).toBe(base);
    await b.close();
    expect(pool.available).toBe(1);
  });
});
