/**
 * One call's media: a UDP socket from the port pool, a paced sender driven by the shared
 * MediaClock, and a receiver (latching, reorder buffer, G.711 decoding, RFC 4733 keys).
 * Nothing here knows about SIP: the SIP layer opens a session, puts `port` in its SDP, and hands
 * the negotiated result to `configure()`.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { DECODERS, SILENCE_BYTE, encodeG711 } from './codec.ts';
import { KeyStream, Rfc4733Decoder, buildTelephoneEvent, keyToEvent } from './dtmf.ts';
import { RtpError } from './errors.ts';
import { type MediaClock, type Paced, sharedClock } from './media-clock.ts';
import { PlayoutBuffer } from './playout-buffer.ts';
import type { PortPool } from './port-pool.ts';
import { RTP_HEADER_BYTES, parseRtp, writeRtpHeader } from './rtp-packet.ts';
import type { Negotiated } from './sdp.ts';

export interface RtpSessionOptions {
  pool: PortPool;
  /** Local address to bind ('0.0.0.0', '::' or one interface). */
  bindAddress: string;
  clock?: MediaClock;
  /** How long a hole in the incoming stream is waited for (reorder depth). */
  playoutMs?: number;
  /** Longest gap filled with silence; a longer one is played as this much. */
  maxGapMs?: number;
  maxBufferedPackets?: number;
  /** Larger datagrams are dropped unread (60 ms of G.711 is 480 bytes). */
  maxDatagramBytes?: number;
  dtmfDurationMs?: number;
  keyWindowMs?: number;
}

export interface RtpStats {
  packetsIn: number;
  packetsOut: number;
  lost: number;
  late: number;
  duplicates: number;
  /** Datagrams that are not RTP, too large, or of a payload type we did not negotiate. */
  bad: number;
  /** Datagrams from a source other than the latched one (once connected, the kernel drops them). */
  foreign: number;
  overflows: number;
  ssrcChanges: number;
  buffered: number;
  keys: number;
}

type PlayResult = 'done' | 'stopped';

interface Job {
  kind: 'play' | 'dtmf';
  data: Buffer;
  packetBytes: number;
  packets: number;
  next: number;
  /** RFC 4733: every packet of an event carries the event's start timestamp. */
  eventTs: number | null;
  done: (result: PlayResult) => void;
}

function bind(socket: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

export class RtpSession implements Paced {
  readonly port: number;
  readonly #opts: RtpSessionOptions;
  readonly #pool: PortPool;
  readonly #socket: Socket;
  readonly #clock: MediaClock;
  readonly #playout: PlayoutBuffer;
  readonly #rfc4733 = new Rfc4733Decoder();
  readonly #keys: KeyStream;
  readonly #audioListeners: ((samples: Int16Array) => void)[] = [];
  #neg: Negotiated | null = null;
  #sdpRemote: { address: string; port: number } | null = null;
  #latched: { address: string; port: number } | null = null;
  #holeTimer: NodeJS.Timeout | null = null;
  #closed = false;
  #connection: 'none' | 'connecting' | 'connected' = 'none';
  // Sender state.
  readonly #ssrc = (Math.random() * 0x100000000) >>> 0;
  #seq = Math.floor(Math.random() * 0x10000);
  readonly #tsOrigin = (Math.random() * 0x100000000) >>> 0;
  #idealOrigin: number | null = null;
  #ticks = 0;
  #onClock = false;
  #marker = true;
  #play: Job | null = null;
  readonly #dtmf: Job[] = [];
  readonly #stats = {
    packetsIn: 0,
    packetsOut: 0,
    bad: 0,
    foreign: 0,
    keys: 0,
  };

  /** Use RtpSession.open(). */
  private constructor(opts: RtpSessionOptions, socket: Socket, port: number) {
    this.#opts = opts;
    this.#pool = opts.pool;
    this.#socket = socket;
    this.port = port;
    this.#clock = opts.clock ?? sharedClock;
    this.#keys = new KeyStream({ windowMs: opts.keyWindowMs });
    this.#keys.onKey(() => this.#stats.keys++);
    this.#playout = new PlayoutBuffer(
      {
        frame: (pt, payload) => {
          if (this.#audioListeners.length > 0) this.#emitAudio(DECODERS[pt]!(payload));
        },
        silence: (n) => {
          if (this.#audioListeners.length > 0) this.#emitAudio(new Int16Array(n));
        },
      },
      {
        playoutMs: opts.playoutMs,
        maxGapMs: opts.maxGapMs,
        maxPackets: opts.maxBufferedPackets,
      },
    );
    socket.on('message', (msg, rinfo) => {
      // Whatever a datagram holds, a failure drops that datagram, not the call or the thread.
      try {
        this.#onMessage(msg, rinfo);
      } catch {
        this.#stats.bad++;
      }
    });
    // Send errors (an unreachable peer) and stray socket errors must not crash the process.
    socket.on('error', () => {});
  }

  /** Binds a socket on a port from the pool; a port some other program holds is skipped. */
  static async open(opts: RtpSessionOptions): Promise<RtpSession> {
    const skipped: number[] = [];
    try {
      for (;;) {
        const port = opts.pool.acquire();
        const socket = createSocket(opts.bindAddress.includes(':') ? 'udp6' : 'udp4');
        try {
          await bind(socket, port, opts.bindAddress);
          return new RtpSession(opts, socket, socket.address().port);
        } catch (err) {
          socket.close();
          const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
          if (!inUse || opts.pool.ephemeral || skipped.length >= 20) {
            opts.pool.release(port);
            throw err;
          }
          skipped.push(port);
        }
      }
    } finally {
      for (const port of skipped) opts.pool.release(port);
    }
  }

  /** Applies an SDP result; call again after each re-INVITE. */
  configure(neg: Negotiated): void {
    const moved =
      this.#sdpRemote !== null &&
      (this.#sdpRemote.address !== neg.remote.address || this.#sdpRemote.port !== neg.remote.port);
    // The peer announced a new address: latch afresh to whatever it sends from now.
    if (moved && neg.remote.address !== '0.0.0.0') {
      this.#latched = null;
      this.#unconnect();
    }
    this.#neg = neg;
    this.#sdpRemote = { ...neg.remote };
  }

  get remote(): { address: string; port: number } | null {
    return this.#latched ?? this.#sdpRemote;
  }

  onAudio(cb: (samples: Int16Array) => void): () => void {
    this.#audioListeners.push(cb);
    return () => {
      const i = this.#audioListeners.indexOf(cb);
      if (i >= 0) this.#audioListeners.splice(i, 1);
    };
  }

  onKey(cb: (key: string) => void): () => void {
    return this.#keys.onKey(cb);
  }

  /** A key the SIP layer got in an INFO request; copies of RFC 4733 keys are dropped. */
  infoKey(key: string): void {
    this.#keys.push('info', key);
  }

  stats(): RtpStats {
    const p = this.#playout.stats;
    return {
      ...this.#stats,
      lost: p.lost,
      late: p.late,
      duplicates: p.duplicates,
      overflows: p.overflows,
      ssrcChanges: p.ssrcChanges,
      buffered: this.#playout.buffered,
    };
  }

  // ---- receiving ----

  #emitAudio(samples: Int16Array): void {
    for (const cb of this.#audioListeners) cb(samples);
  }

  readonly #onMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
    this.#clock.poll();
    if (msg.length > (this.#opts.maxDatagramBytes ?? 1500)) {
      this.#stats.bad++;
      return;
    }
    const latched = this.#latched;
    if (latched && (latched.port !== rinfo.port || latched.address !== rinfo.address)) {
      this.#stats.foreign++;
      return;
    }
    const p = parseRtp(msg);
    const dtmfPt = this.#neg?.dtmfPayloadType ?? null;
    if (!p || (p.payloadType !== dtmfPt && DECODERS[p.payloadType] === undefined)) {
      this.#stats.bad++;
      return;
    }
    // Symmetric RTP: answer where the phone really sends from (it may be behind NAT).
    if (!latched) {
      this.#latched = { address: rinfo.address, port: rinfo.port };
      this.#connect(this.#latched);
    }
    this.#stats.packetsIn++;
    if (p.payloadType === dtmfPt) {
      const key = this.#rfc4733.push(p.ssrc, p.timestamp, p.payload);
      if (key !== null) this.#keys.push('rtp', key);
      return;
    }
    this.#playout.push(p.ssrc, p.sequence, p.timestamp, p.payloadType, p.payload);
    this.#armHoleTimer();
  };

  #armHoleTimer(): void {
    if (!this.#playout.waiting) {
      if (this.#holeTimer) clearTimeout(this.#holeTimer);
      this.#holeTimer = null;
      return;
    }
    if (this.#holeTimer) return;
    this.#holeTimer = setTimeout(() => {
      this.#holeTimer = null;
      this.#playout.flush();
    }, this.#opts.playoutMs ?? 60);
  }

  // ---- sending ----

  /**
   * Once latched, the socket is connected to the peer: each send then skips Node's per-packet
   * address lookup and deferral (about a fifth of the CPU per packet), and the kernel drops
   * datagrams from anyone else.
   */
  #connect(to: { address: string; port: number }): void {
    if (this.#connection !== 'none' || this.#closed) return;
    this.#connection = 'connecting';
    this.#socket.connect(to.port, to.address, (err?: Error) => {
      if (err || this.#closed) {
        this.#connection = 'none';
        return;
      }
      this.#connection = 'connected';
      if (this.#latched?.address !== to.address || this.#latched.port !== to.port)
        this.#unconnect();
    });
  }

  /** The peer moved (a re-INVITE): listen to everyone again until it latches anew. */
  #unconnect(): void {
    if (this.#connection !== 'connected') return;
    this.#socket.disconnect();
    this.#connection = 'none';
  }

  get #packetMs(): number {
    const ptime = this.#neg?.ptimeMs ?? 20;
    return ptime === 40 || ptime === 60 ? ptime : 20;
  }

  #requireNeg(): Negotiated {
    if (!this.#neg) throw new RtpError('INVALID_STATE', 'RTP session not configured from SDP');
    return this.#neg;
  }

  /**
   * Plays 8 kHz 16-bit audio in the negotiated codec. A new play() or stop() ends the current
   * one, which resolves 'stopped'. While the peer holds the call, time passes but nothing is
   * sent.
   */
  play(samples: Int16Array): Promise<PlayResult> {
    const neg = this.#requireNeg();
    return this.playEncoded(encodeG711(neg.codec, samples));
  }

  /** Plays audio already encoded in the negotiated codec (prompts encoded once, shared). */
  playEncoded(payload: Uint8Array): Promise<PlayResult> {
    const neg = this.#requireNeg();
    if (this.#closed) return Promise.resolve('stopped');
    const frameBytes = this.#packetMs * 8;
    const packets = Math.ceil(payload.length / frameBytes);
    const packetBytes = RTP_HEADER_BYTES + frameBytes;
    const data = Buffer.alloc(packets * packetBytes, SILENCE_BYTE[neg.codec]);
    for (let i = 0; i < packets; i++) {
      const chunk = payload.subarray(i * frameBytes, (i + 1) * frameBytes);
      data.set(chunk, i * packetBytes + RTP_HEADER_BYTES);
    }
    this.stop();
    return new Promise((resolve) => {
      if (packets === 0) return resolve('done');
      this.#play = {
        kind: 'play',
        data,
        packetBytes,
        packets,
        next: 0,
        eventTs: null,
        done: resolve,
      };
      this.#marker = true;
      this.#join();
    });
  }

  /** Stops playing now; the pending play() resolves 'stopped'. */
  stop(): void {
    const job = this.#play;
    if (!job) return;
    this.#play = null;
    job.done('stopped');
    this.#leaveIfIdle();
  }

  /** Sends one key as RFC 4733 events (pausing any playback meanwhile). */
  sendDtmf(key: string): Promise<void> {
    const neg = this.#requireNeg();
    const event = keyToEvent(key);
    if (event === null) throw new RangeError(`not a DTMF key: ${JSON.stringify(key)}`);
    if (neg.dtmfPayloadType === null)
      throw new RtpError('INVALID_STATE', 'the peer did not negotiate telephone-event');
    const step = this.#packetMs * 8;
    const updates = Math.max(1, Math.round((this.#opts.dtmfDurationMs ?? 100) / this.#packetMs));
    const packets = updates + 3;
    const packetBytes = RTP_HEADER_BYTES + 4;
    const data = Buffer.alloc(packets * packetBytes);
    for (let i = 0; i < packets; i++) {
      const end = i >= updates;
      const duration = step * Math.min(i + 1, updates);
      buildTelephoneEvent({ event, end, volume: 10, duration }).copy(
        data,
        i * packetBytes + RTP_HEADER_BYTES,
      );
    }
    return new Promise((resolve) => {
      if (this.#closed) return resolve();
      this.#dtmf.push({
        kind: 'dtmf',
        data,
        packetBytes,
        packets,
        next: 0,
        eventTs: null,
        done: () => resolve(),
      });
      this.#join();
    });
  }

  #join(): void {
    if (this.#onClock) return;
    this.#onClock = true;
    this.#ticks = 0;
    this.#clock.add(this);
  }

  #leaveIfIdle(): void {
    if (!this.#onClock || this.#play || this.#dtmf.length > 0) return;
    this.#onClock = false;
    this.#clock.remove(this);
  }

  /** Called by the MediaClock once per 20 ms; sends at most one packet. */
  tick(idealMs: number): number {
    if (this.#ticks++ % (this.#packetMs / 20) !== 0) return 0;
    const job = this.#dtmf[0] ?? this.#play;
    if (!job) {
      this.#leaveIfIdle();
      return 0;
    }
    this.#idealOrigin ??= idealMs;
    const ts = (this.#tsOrigin + Math.round((idealMs - this.#idealOrigin) * 8)) >>> 0;
    const isDtmf = job.kind === 'dtmf';
    if (isDtmf) job.eventTs ??= ts;
    const offset = job.next * job.packetBytes;
    const marker = isDtmf ? job.next === 0 : this.#marker;
    const neg = this.#neg!;
    writeRtpHeader(job.data, offset, {
      marker,
      payloadType: isDtmf ? neg.dtmfPayloadType! : neg.payloadType,
      sequence: this.#seq,
      timestamp: job.eventTs ?? ts,
      ssrc: this.#ssrc,
    });
    job.next++;
    let sent = 0;
    const to = this.remote;
    const mayPlay = neg.direction === 'sendrecv' || neg.direction === 'sendonly';
    if (mayPlay && to && to.port > 0 && to.address !== '0.0.0.0' && !this.#closed) {
      if (this.#connection === 'connected') this.#socket.send(job.data, offset, job.packetBytes);
      else this.#socket.send(job.data, offset, job.packetBytes, to.port, to.address);
      this.#seq = (this.#seq + 1) & 0xffff;
      this.#stats.packetsOut++;
      this.#marker = false;
      sent = 1;
    }
    if (job.next >= job.packets) {
      if (isDtmf) {
        this.#dtmf.shift();
        this.#marker = true; // audio after an event starts a new talkspurt
      } else {
        this.#play = null;
      }
      job.done('done');
      this.#leaveIfIdle();
    }
    return sent;
  }

  /** Stops sending and receiving and gives the port back. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.stop();
    for (const job of this.#dtmf.splice(0)) job.done('stopped');
    this.#leaveIfIdle();
    if (this.#holeTimer) clearTimeout(this.#holeTimer);
    this.#holeTimer = null;
    this.#playout.flush();
    this.#audioListeners.length = 0;
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
    this.#pool.release(this.port);
  }
}
