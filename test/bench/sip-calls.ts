/**
 * The load generator's callers: a minimal SIP UAC over UDP with RTP, as a phone leaving a
 * message behaves. Each call: INVITE (PCMU, telephone-event), ACK, hears the greeting and the
 * tone while sending silence, then sends its own tone (a frequency per call) for the planned
 * seconds at 20 ms pacing, 200 ms of silence, and BYE; the server answers the BYE once the
 * message is durable. All calls share one SIP socket and one drift-free 20 ms ticker; each has
 * its own RTP socket.
 */
import { createSocket, type Socket } from 'node:dgram';
import {
  Lateness,
  PACKET_BYTES,
  RTP_HEADER_BYTES,
  RtpReceiver,
  SAMPLES_PER_PACKET,
  startTicker,
  toneFrequency,
  ULAW_SILENCE,
  ulawTone,
  writeRtpHeader,
  type LatenessStats,
} from './sip-kit.ts';
import {
  ackFailure,
  answer,
  branch,
  header,
  inDialog,
  invite,
  token,
  type Leg,
} from './sip-messages.ts';

export interface CallPlan {
  calls: number;
  sipPort: number;
  firstExtension: number;
  mailboxes: number;
  /** INVITEs are spread evenly over this many ms. */
  rampMs: number;
  toneSeconds: number;
  /** Caller numbers are this prefix and the call's index (4 digits). */
  numberPrefix: string;
  /** Send silence while the greeting plays, as a phone's microphone does. */
  silenceDuringGreeting: boolean;
  /** Calls still unfinished after this long are abandoned (counted as failed). */
  timeoutMs: number;
}

export type Outcome = 'completed' | 'refused' | 'failed';

export interface CallResult {
  i: number;
  number: string;
  frequency: number;
  outcome: Outcome;
  /** The final status of the INVITE (or of the BYE when that failed), or why it failed. */
  status: number;
  reason: string;
  /** INVITE sent -> 200 received. */
  setupMs: number;
  /** BYE sent -> its 200 (Voicegate answers once the message is durable). */
  byeMs: number;
  greetingPackets: number;
  greetingLost: number;
  talkspurts: number;
  /** The greeting's end was found by a 1 s silence rather than by the tone's talkspurt. */
  fallback: boolean;
}

export interface CallsReport {
  results: CallResult[];
  /** Receive-side jitter of what the callers heard (greeting and tone). */
  receive: LatenessStats;
  /** The generator's own send lateness (silence and tone packets). */
  send: LatenessStats;
  /** Most calls in a dialog (200 received, BYE not yet answered) at once. */
  peakActive: number;
  /** First INVITE -> last call finished. */
  wallMs: number;
}

const T1 = 500;
const T2 = 4000;
const TRANSACTION_MS = 64 * T1;
/** After the tone's talkspurt, this much quiet means the recording has started. */
const GREETING_END_QUIET_MS = 100;
/** Without a second talkspurt, this much quiet does (counted as a fallback). */
const FALLBACK_QUIET_MS = 1000;
const TAIL_PACKETS = 10;
const PT_PCMU = 0;

type Phase = 'idle' | 'inviting' | 'greeting' | 'talking' | 'tail' | 'bye' | 'done';

interface Call extends Leg {
  frequency: number;
  phase: Phase;
  rtp: Socket | null;
  rtpPort: number;
  recv: RtpReceiver;
  tone: Uint8Array;
  sent: number;
  toneSent: number;
  tailSent: number;
  seq: number;
  ts: number;
  ssrc: number;
  timer: NodeJS.Timeout | null;
  invitedAt: number;
  byeAt: number;
  result: CallResult;
}

/** The SIP socket and every call of one step. */
export function runCalls(plan: CallPlan): Promise<CallsReport> {
  return new Promise((resolve, reject) => {
    const sip = createSocket('udp4');
    sip.once('error', reject);
    sip.bind(0, '127.0.0.1', () => {
      sip.removeListener('error', reject);
      sip.on('error', () => {});
      new Generator(plan, sip).run().then(resolve, reject);
    });
  });
}

class Generator {
  readonly #plan: CallPlan;
  readonly #sip: Socket;
  readonly #local: string;
  readonly #calls: Call[];
  readonly #byCallId = new Map<string, Call>();
  readonly #receive = new Lateness();
  readonly #send = new Lateness();
  #started = 0;
  #finished = 0;
  #active = 0;
  #peakActive = 0;
  #t0 = 0;
  #done!: () => void;

  constructor(plan: CallPlan, sip: Socket) {
    this.#plan = plan;
    this.#sip = sip;
    this.#local = `127.0.0.1:${sip.address().port}`;
    // Tones are made before the first INVITE: nothing but the calls runs while they run.
    this.#calls = Array.from({ length: plan.calls }, (_, i) => this.#newCall(i));
    for (const c of this.#calls) this.#byCallId.set(c.callId, c);
    sip.on('message', (buf) => this.#onSip(buf.toString('latin1')));
  }

  #newCall(i: number): Call {
    const frequency = toneFrequency(i);
    const number = `${this.#plan.numberPrefix}${String(i).padStart(4, '0')}`;
    return {
      i,
      number,
      extension: this.#plan.firstExtension + (i % this.#plan.mailboxes),
      frequency,
      callId: `${token()}-${i}@bench`,
      fromTag: token(),
      inviteBranch: branch(),
      toTag: null,
      remoteTarget: '',
      local: this.#local,
      server: `127.0.0.1:${this.#plan.sipPort}`,
      phase: 'idle',
      rtp: null,
      rtpPort: 0,
      recv: new RtpReceiver(),
      tone: ulawTone(frequency, this.#plan.toneSeconds),
      sent: 0,
      toneSent: 0,
      tailSent: 0,
      seq: (Math.random() * 0x10000) | 0,
      ts: (Math.random() * 0x100000000) >>> 0,
      ssrc: (Math.random() * 0x100000000) >>> 0,
      timer: null,
      invitedAt: 0,
      byeAt: 0,
      result: {
        i,
        number,
        frequency,
        outcome: 'failed',
        status: 0,
        reason: 'not started',
        setupMs: NaN,
        byeMs: NaN,
        greetingPackets: 0,
        greetingLost: 0,
        talkspurts: 0,
        fallback: false,
      },
    };
  }

  run(): Promise<CallsReport> {
    const all = new Promise<void>((resolve) => (this.#done = resolve));
    this.#t0 = performance.now();
    const ticker = startTicker((ideal) => this.#tick(ideal));
    const deadline = setTimeout(() => {
      for (const c of this.#calls)
        if (c.phase !== 'done') this.#finish(c, 'failed', c.result.status, `timeout in ${c.phase}`);
    }, this.#plan.timeoutMs);
    return all.then(() => {
      clearTimeout(deadline);
      ticker.stop();
      this.#sip.close();
      return {
        results: this.#calls.map((c) => c.result),
        receive: this.#receive.stats(),
        send: this.#send.stats(),
        peakActive: this.#peakActive,
        wallMs: performance.now() - this.#t0,
      };
    });
  }

  // ---- the 20 ms tick: new calls, then one packet per talking call ----

  #tick(ideal: number): boolean {
    const now = performance.now();
    const plan = this.#plan;
    while (
      this.#started < plan.calls &&
      this.#t0 + (this.#started * plan.rampMs) / plan.calls <= now
    ) {
      void this.#start(this.#calls[this.#started++]!);
    }
    for (const c of this.#calls) {
      switch (c.phase) {
        case 'greeting': {
          const quiet = now - c.recv.lastArrival;
          const heard = c.recv.packets > 0;
          if (heard && c.recv.talkspurts >= 2 && quiet >= GREETING_END_QUIET_MS) {
            c.phase = 'talking';
          } else if (heard && quiet >= FALLBACK_QUIET_MS) {
            c.result.fallback = true;
            c.phase = 'talking';
          } else {
            if (plan.silenceDuringGreeting) this.#sendAudio(c, null, ideal);
            break;
          }
        }
        // falls through: the tone starts in this very tick
        case 'talking':
          this.#sendAudio(c, c.tone.subarray(c.toneSent * SAMPLES_PER_PACKET), ideal);
          c.toneSent++;
          if (c.toneSent * SAMPLES_PER_PACKET >= c.tone.length) c.phase = 'tail';
          break;
        case 'tail':
          this.#sendAudio(c, null, ideal);
          if (++c.tailSent >= TAIL_PACKETS) this.#sendBye(c);
          break;
        default:
          break;
      }
    }
    return this.#finished < plan.calls;
  }

  /** One 20 ms PCMU packet: `payload`'s first 160 bytes, or silence. */
  #sendAudio(c: Call, payload: Uint8Array | null, ideal: number): void {
    const buf = Buffer.allocUnsafe(PACKET_BYTES);
    writeRtpHeader(buf, 0, {
      marker: c.sent === 0 || (payload !== null && c.toneSent === 0),
      payloadType: PT_PCMU,
      seq: c.seq,
      ts: c.ts,
      ssrc: c.ssrc,
    });
    if (payload) {
      buf.set(payload.subarray(0, SAMPLES_PER_PACKET), RTP_HEADER_BYTES);
      if (payload.length < SAMPLES_PER_PACKET)
        buf.fill(ULAW_SILENCE, RTP_HEADER_BYTES + payload.length);
    } else {
      buf.fill(ULAW_SILENCE, RTP_HEADER_BYTES);
    }
    this.#send.record(performance.now() - ideal);
    c.rtp!.send(buf);
    c.seq = (c.seq + 1) & 0xffff;
    c.ts = (c.ts + SAMPLES_PER_PACKET) >>> 0;
    c.sent++;
  }

  // ---- SIP ----

  async #start(c: Call): Promise<void> {
    const rtp = createSocket('udp4');
    rtp.on('error', () => {});
    await new Promise<void>((resolve) => rtp.bind(0, '127.0.0.1', resolve));
    if (c.phase === 'done') return void rtp.close(); // the step timed out meanwhile
    c.rtp = rtp;
    c.rtpPort = rtp.address().port;
    rtp.on('message', (msg) => {
      if (c.phase === 'inviting' || c.phase === 'greeting') c.recv.push(msg, performance.now());
    });
    c.phase = 'inviting';
    c.invitedAt = performance.now();
    const text = invite(c, c.rtpPort);
    this.#retransmit(c, () => this.#out(text), 'INVITE');
  }

  /** Timer A/E: T1, doubling (up to T2 for non-INVITE); timer B/F: give up after 64*T1. */
  #retransmit(c: Call, send: () => void, method: string): void {
    const began = performance.now();
    let interval = T1;
    const again = (): void => {
      if (performance.now() - began >= TRANSACTION_MS) {
        c.timer = null;
        this.#finish(c, 'failed', 408, `${method} timed out`);
        return;
      }
      send();
      c.timer = setTimeout(again, interval);
      interval = method === 'INVITE' ? interval * 2 : Math.min(interval * 2, T2);
    };
    again();
  }

  #stopTimer(c: Call): void {
    if (c.timer) clearTimeout(c.timer);
    c.timer = null;
  }

  #out(text: string): void {
    this.#sip.send(text, this.#plan.sipPort, '127.0.0.1');
  }

  #sendBye(c: Call): void {
    c.phase = 'bye';
    c.byeAt = performance.now();
    this.#endGreeting(c);
    const bye = inDialog(c, 'BYE', 2);
    this.#retransmit(c, () => this.#out(bye), 'BYE');
  }

  /** The greeting's packets go into the receive-side jitter once the call stops hearing. */
  #endGreeting(c: Call): void {
    c.result.greetingPackets = c.recv.packets;
    c.result.greetingLost = c.recv.lost;
    c.result.talkspurts = c.recv.talkspurts;
    c.recv.finish(this.#receive);
  }

  #onSip(text: string): void {
    const callId = header(text, '(?:call-id|i)');
    const c = callId ? this.#byCallId.get(callId) : undefined;
    if (!c) return;
    if (!text.startsWith('SIP/2.0 ')) return this.#onRequest(c, text);
    const status = Number(text.slice(8, 11));
    const cseq = header(text, 'cseq') ?? '';
    if (cseq.endsWith('INVITE')) this.#onInviteResponse(c, status, text);
    else if (cseq.endsWith('BYE') && status >= 200 && c.phase === 'bye') {
      this.#stopTimer(c);
      c.result.byeMs = performance.now() - c.byeAt;
      if (status < 300) this.#finish(c, 'completed', status, 'ok');
      else this.#finish(c, 'failed', status, `BYE answered ${status}`);
    }
  }

  #onInviteResponse(c: Call, status: number, text: string): void {
    if (status < 200) {
      if (c.phase === 'inviting') this.#stopTimer(c);
      return;
    }
    const to = header(text, '(?:to|t)') ?? '';
    const tag = /;\s*tag=([^;\s]+)/i.exec(to)?.[1] ?? '';
    if (status >= 300) {
      this.#out(ackFailure(c, to));
      if (c.phase === 'inviting')
        this.#finish(c, status === 486 ? 'refused' : 'failed', status, `INVITE answered ${status}`);
      return;
    }
    if (c.toTag === null) {
      this.#stopTimer(c);
      c.toTag = tag;
      const contact = header(text, '(?:contact|m)') ?? '';
      c.remoteTarget = /<([^>]+)>/.exec(contact)?.[1] ?? `sip:${c.extension}@127.0.0.1`;
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      const port = Number(/^m=audio (\d+)/m.exec(body)?.[1]);
      const address = /^c=IN IP4 (\S+)/m.exec(body)?.[1] ?? '127.0.0.1';
      c.result.setupMs = performance.now() - c.invitedAt;
      if (!(port > 0)) {
        this.#out(inDialog(c, 'ACK', 1));
        this.#sendBye(c);
        c.result.reason = 'no RTP port in the answer';
        return;
      }
      c.rtp!.connect(port, address);
      c.phase = 'greeting';
      this.#active++;
      this.#peakActive = Math.max(this.#peakActive, this.#active);
    }
    // Every 2xx (the first and its retransmissions) gets an ACK.
    this.#out(inDialog(c, 'ACK', 1));
  }

  /** The server hung up (or sent something else in the dialog): 200, and the call is over. */
  #onRequest(c: Call, text: string): void {
    const method = text.slice(0, text.indexOf(' '));
    this.#out(answer(text));
    if (method === 'BYE' && c.phase !== 'done') {
      if (c.phase !== 'bye') this.#endGreeting(c);
      this.#stopTimer(c);
      this.#finish(c, 'failed', 0, `the server hung up in ${c.phase}`);
    }
  }

  #finish(c: Call, outcome: Outcome, status: number, reason: string): void {
    if (c.phase === 'done') return;
    if (c.toTag !== null && c.phase !== 'inviting') this.#active--;
    this.#stopTimer(c);
    c.phase = 'done';
    c.result.outcome = outcome;
    c.result.status = status;
    if (c.result.reason === 'not started' || outcome !== 'completed') c.result.reason = reason;
    c.rtp?.close();
    c.rtp = null;
    if (++this.#finished === this.#plan.calls) this.#done();
  }
}
