/**
 * What the sip benchmark's processes share: the lateness histogram (the media clock's own
 * `Lateness`, so the yardstick and the callers measure the way Voicegate does), the drift-free
 * 20 ms ticker, G.711 tone packets, and a child process answered over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { linearToUlaw } from '../../server/media/g711.ts';

export const PERIOD_MS = 20;
export const SAMPLES_PER_PACKET = 160;
export const RTP_HEADER_BYTES = 12;
export const PACKET_BYTES = RTP_HEADER_BYTES + SAMPLES_PER_PACKET;
/** µ-law silence. */
export const ULAW_SILENCE = 0xff;

import { Lateness } from '../../server/rtp/lateness.ts';

export { Lateness };
export type { LatenessStats } from '../../server/rtp/lateness.ts';

/**
 * One setTimeout re-armed against t0 + n * 20 ms - now (no drift), as the media clock does;
 * `onTick` gets the tick's ideal time (performance.now() base). Stops when `onTick` returns false.
 */
export function startTicker(onTick: (idealMs: number) => boolean): { stop(): void } {
  const t0 = performance.now();
  let n = 0;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const arm = (): void => {
    const delay = Math.max(0, Math.round(t0 + n * PERIOD_MS - performance.now()));
    timer = setTimeout(fire, delay);
  };
  const fire = (): void => {
    timer = null;
    const now = performance.now();
    // Every due tick runs (a late timer sends its packets late, never drops them).
    while (!stopped && t0 + n * PERIOD_MS <= now + 0.25) {
      if (!onTick(t0 + n * PERIOD_MS)) stopped = true;
      n++;
    }
    if (!stopped) arm();
  };
  arm();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

/** The frequency call `i` sends: 5 Hz apart, all inside G.711's band, distinct for 600 calls. */
export function toneFrequency(i: number): number {
  return 300 + 5 * (i % 600);
}

/** `seconds` of a sine at `frequency` (amplitude about -12 dBFS), µ-law encoded. */
export function ulawTone(frequency: number, seconds: number): Uint8Array {
  const n = Math.round(seconds * 8000);
  const out = new Uint8Array(n);
  const step = (2 * Math.PI * frequency) / 8000;
  for (let i = 0; i < n; i++) out[i] = linearToUlaw(8000 * Math.sin(step * i));
  return out;
}

/** The RTP fixed header (version 2, no CSRC) into `buf` at `offset`. */
export function writeRtpHeader(
  buf: Buffer,
  offset: number,
  h: { marker: boolean; payloadType: number; seq: number; ts: number; ssrc: number },
): void {
  buf[offset] = 0x80;
  buf[offset + 1] = (h.marker ? 0x80 : 0) | h.payloadType;
  buf.writeUInt16BE(h.seq & 0xffff, offset + 2);
  buf.writeUInt32BE(h.ts >>> 0, offset + 4);
  buf.writeUInt32BE(h.ssrc >>> 0, offset + 8);
}

/** CPU ms (user + system) of this process since `since`. */
export function cpuMsSince(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

/** Resident set of a process now, MiB (/proc/PID/status VmRSS); NaN once it is gone. */
export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * A benchmark process of our own (node, type stripping), its output in a log file, answering
 * `request(message)` over IPC: each request carries an id, and its reply the same id.
 */
export class IpcChild {
  readonly name: string;
  readonly #child: ChildProcess;
  readonly #logFile: string;
  #nextId = 1;
  readonly #waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  #exited = false;
  readonly #ready: Promise<Record<string, unknown>>;

  constructor(
    name: string,
    script: string,
    args: string[],
    logFile: string,
    nodeArgs: string[] = [],
  ) {
    this.name = name;
    this.#logFile = logFile;
    const log = openSync(logFile, 'a');
    this.#child = fork(script, args, {
      execArgv: nodeArgs,
      stdio: ['ignore', log, log, 'ipc'],
    });
    closeSync(log);
    let ready!: (m: Record<string, unknown>) => void;
    let failed!: (e: Error) => void;
    this.#ready = new Promise((resolve, reject) => {
      ready = resolve;
      failed = reject;
    });
    this.#ready.catch(() => {});
    const timer = setTimeout(
      () => failed(new Error(`${name} did not start${this.logTail()}`)),
      START_TIMEOUT_MS,
    );
    this.#child.on('message', (m: { id?: number; error?: string; ready?: boolean }) => {
      if (m.ready) {
        clearTimeout(timer);
        ready(m);
        return;
      }
      const w = m.id === undefined ? undefined : this.#waiting.get(m.id);
      if (!w) return;
      this.#waiting.delete(m.id!);
      if (m.error) w.reject(new Error(`${name}: ${m.error}${this.logTail()}`));
      else w.resolve(m);
    });
    this.#child.on('exit', (code, signal) => {
      this.#exited = true;
      clearTimeout(timer);
      failed(new Error(`${name} exited at start (${code ?? signal})${this.logTail()}`));
      for (const w of this.#waiting.values())
        w.reject(new Error(`${name} exited (${code ?? signal})${this.logTail()}`));
      this.#waiting.clear();
    });
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** The child's first message, `{ready: true, ...}`. */
  ready(): Promise<Record<string, unknown>> {
    return this.#ready;
  }

  request<T>(message: Record<string, unknown>): Promise<T> {
    if (this.#exited) return Promise.reject(new Error(`${this.name} is not running`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#child.send({ ...message, id });
    });
  }

  logTail(lines = 20): string {
    try {
      const text = readFileSync(this.#logFile, 'utf8').trimEnd().split('\n');
      return `\n--- ${this.name} log (last ${lines} lines)\n${text.slice(-lines).join('\n')}`;
    } catch {
      return '';
    }
  }

  /** SIGTERM, then SIGKILL if it is still there after 10 s. */
  async stop(): Promise<void> {
    if (this.#exited || this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
}

/** The child side: answers each request with `handle`'s result (or its error), same id. */
export function serveRequests(
  handle: (m: Record<string, unknown>) => Promise<Record<string, unknown>>,
): void {
  process.on('message', (m: Record<string, unknown>) => {
    handle(m).then(
      (reply) => process.send!({ ...reply, id: m.id }),
      (err: unknown) =>
        process.send!({ id: m.id, error: err instanceof Error ? err.stack : String(err) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}

/**
 * One incoming RTP stream as a caller's phone sees it: packets, losses (sequence gaps), talkspurts
 * (marker bits) and each packet's transit (arrival - RTP timestamp); `finish` adds every packet's
 * delay beyond the stream's quickest one to a Lateness: the receive-side jitter.
 */
export class RtpReceiver {
  packets = 0;
  talkspurts = 0;
  lastArrival = 0;
  #ts0 = 0;
  #lastSeq = 0;
  #highest = 0;
  #ext = 0;
  #transit: number[] = [];

  push(msg: Buffer, at: number): void {
    if (msg.length < RTP_HEADER_BYTES || (msg[0]! & 0xc0) !== 0x80) return;
    const seq = msg.readUInt16BE(2);
    const ts = msg.readUInt32BE(4);
    if (this.packets === 0) {
      this.#ts0 = ts;
      this.#lastSeq = seq;
    } else {
      const delta = (seq - this.#lastSeq) & 0xffff;
      if (delta < 0x8000) {
        this.#ext += delta;
        this.#lastSeq = seq;
      }
    }
    this.#highest = Math.max(this.#highest, this.#ext);
    if (msg[1]! & 0x80) this.talkspurts++;
    this.packets++;
    this.lastArrival = at;
    this.#transit.push(at - ((ts - this.#ts0) >>> 0) / 8);
  }

  /** Packets the sequence numbers say were sent but never arrived. */
  get lost(): number {
    return this.packets === 0 ? 0 : Math.max(0, this.#highest + 1 - this.packets);
  }

  finish(into: Lateness): void {
    let min = Infinity;
    for (const t of this.#transit) if (t < min) min = t;
    for (const t of this.#transit) into.record(t - min);
    this.#transit = [];
  }
}
