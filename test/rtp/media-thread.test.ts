import { afterEach, describe, expect, it } from 'vitest';
import { decodeUlaw, linearToUlaw } from '../../server/media/g711.ts';
import { buildTelephoneEvent, DTMF_KEYS } from '../../server/rtp/dtmf.ts';
import { EARLY_KEYS, MediaThread, type MediaSession } from '../../server/rtp/media-thread.ts';
import { buildRtp, parseRtp } from '../../server/rtp/rtp-packet.ts';
import type { Negotiated } from '../../server/rtp/sdp.ts';
import { toneRatio } from '../helpers/goertzel.ts';
import { type Peer, sine, sleep, udpPeer, waitFor } from './fixtures.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function thread(): Promise<MediaThread> {
  const t = await MediaThread.start({ bindAddress: '127.0.0.1', portMin: 0, portMax: 0 });
  cleanup.push(() => t.stop());
  return t;
}

async function peer(): Promise<Peer> {
  const p = await udpPeer();
  cleanup.push(() => p.close());
  return p;
}

function neg(port: number): Negotiated {
  return {
    codec: 'PCMU',
    payloadType: 0,
    dtmfPayloadType: 101,
    remote: { address: '127.0.0.1', port },
    ptimeMs: 20,
    direction: 'sendrecv',
  };
}

/** Sends `samples` as 20 ms µ-law packets, paced, from the peer to `port`. */
async function talk(far: Peer, port: number, samples: Int16Array, seq0 = 1): Promise<number> {
  let seq = seq0;
  for (let i = 0; i < samples.length; i += 160) {
    const payload = new Uint8Array(160);
    for (let j = 0; j < 160; j++) payload[j] = linearToUlaw(samples[i + j] ?? 0);
    const ts = seq * 160;
    await far.send(
      buildRtp({ marker: false, payloadType: 0, sequence: seq++, timestamp: ts, ssrc: 7, payload }),
      port,
    );
    await sleep(20);
  }
  return seq;
}

/**
 * The far end types `key` as one RFC 4733 event (its start, then its end), and the media thread
 * has read it: a request sent after it is answered twice over (the thread reads what waits on
 * its socket in the loop turn where it answers the first, and its events keep their order).
 */
async function typeKey(
  media: MediaThread,
  far: Peer,
  call: MediaSession,
  key: string,
  n: number,
): Promise<void> {
  const event = DTMF_KEYS.indexOf(key);
  const packet = (end: boolean, seq: number) =>
    buildRtp({
      marker: !end,
      payloadType: 101,
      sequence: seq,
      timestamp: 1000 + n * 1600,
      ssrc: 7,
      payload: buildTelephoneEvent({ event, end, volume: 10, duration: end ? 800 : 160 }),
    });
  await far.send(packet(false, 2 * n + 1), call.port);
  await far.send(packet(true, 2 * n + 2), call.port);
  await media.stats();
  await media.stats();
}

describe('the media thread', () => {
  it(`holds the keys typed before the call listens (before its ACK), the first ${EARLY_KEYS}, in order`, async () => {
    const media = await thread();
    const far = await peer();
    const call = await media.open();
    call.configure(neg(far.port));
    const typed = '123456789*0#'.repeat(4).slice(0, EARLY_KEYS + 8);
    for (let i = 0; i < typed.length; i++) await typeKey(media, far, call, typed[i]!, i);
    const heard: string[] = [];
    call.onKey((key) => heard.push(key));
    expect(heard.join('')).toBe(typed.slice(0, EARLY_KEYS));
    // Once the call listens, keys go straight to it.
    await typeKey(media, far, call, '5', typed.length);
    expect(heard.join('')).toBe(`${typed.slice(0, EARLY_KEYS)}5`);
  });

  it('drops the keys held for a call that closed before it listened', async () => {
    const media = await thread();
    const far = await peer();
    const call = await media.open();
    call.configure(neg(far.port));
    await typeKey(media, far, call, '7', 0);
    await call.close();
    const heard: string[] = [];
    call.onKey((key) => heard.push(key));
    expect(heard).toEqual([]);
  });

  it('plays a tone to the far end, paced, in the negotiated codec', async () => {
    const media = await thread();
    const far = await peer();
    const call = await media.open();
    expect(call.port).toBeGreaterThan(0);
    call.configure(neg(far.port));
    expect(await call.play(sine(600, 400))).toBe('done');
    await waitFor(() => far.received.length >= 20, 2000, '20 packets');
    const pkts = far.received.map((r) => parseRtp(r.msg)!);
    expect(pkts.every((p) => p.payloadType === 0)).toBe(true);
    const heard = new Int16Array(pkts.flatMap((p) => [...decodeUlaw(p.payload)]));
    expect(toneRatio(heard, 600)).toBeGreaterThan(0.9);
    const stats = await media.stats();
    expect(stats.packets).toBeGreaterThanOrEqual(20);
  });

  it('records what the caller says until a key, and reports the key', async () => {
    const media = await thread();
    const far = await peer();
    const call = await media.open();
    call.configure(neg(far.port));
    const keys: string[] = [];
    call.onKey((key) => {
      keys.push(key);
      call.stopRecording('key');
    });
    const recording = call.record({ maxMs: 10_000, silenceMs: 5_000 });
    const seq = await talk(far, call.port, sine(1000, 600));
    const event = (end: boolean, duration: number) =>
      buildRtp({
        marker: !end && duration === 160,
        payloadType: 101,
        sequence: seq + duration / 160,
        timestamp: seq * 160,
        ssrc: 7,
        payload: buildTelephoneEvent({ event: 11, end, volume: 10, duration }),
      });
    await far.send(event(false, 160), call.port);
    await far.send(event(true, 320), call.port);
    const done = await recording;
    expect(keys).toEqual(['#']);
    expect(done.reason).toBe('key');
    expect(done.samples.length).toBeGreaterThan(8 * 400);
    expect(toneRatio(done.samples, 1000)).toBeGreaterThan(0.8);
  });

  it('ends a recording on hang-up, and a closed session plays and records nothing', async () => {
    const media = await thread();
    const far = await peer();
    const call = await media.open();
    call.configure(neg(far.port));
    const recording = call.record({ maxMs: 10_000, silenceMs: 5_000 });
    await talk(far, call.port, sine(1000, 200));
    call.stopRecording('hangup');
    expect((await recording).reason).toBe('hangup');
    await call.close();
    expect(await call.play(sine(600, 200))).toBe('stopped');
    expect((await call.record({ maxMs: 1000, silenceMs: 500 })).samples.length).toBe(0);
  });

  it('fails what is pending once stopped, and refuses new sessions', async () => {
    const media = await thread();
    const far = await peer();
    const call = await media.open();
    call.configure(neg(far.port));
    const playing = call.play(sine(600, 5000));
    await media.stop();
    expect(await playing).toBe('stopped');
    await expect(media.open()).rejects.toThrow(/stopped/);
  });
});
