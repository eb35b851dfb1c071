/**
 * The main thread's side of the media thread (media-worker.ts): `MediaThread.start()` runs it,
 * `open()` gives a `MediaSession` per call. A session mirrors `RtpSession` plus recording; its
 * calls become messages, so a blocked main thread (a SQLite commit, a long request) delays no
 * packet. If the media thread dies, its calls end (every pending request fails) and the next
 * `open()` starts a new one.
 */
import { Worker } from 'node:worker_threads';
import type { ClockStats } from './media-clock.ts';
import type {
  MediaCommand,
  MediaEvent,
  MediaReplyValue,
  MediaThreadSettings,
  RecordRequest,
} from './media-protocol.ts';
import type { Recording } from './recorder.ts';
import type { Negotiated } from './sdp.ts';
import { RTP_ERROR_CODES, RtpError, type RtpErrorCode } from './errors.ts';

type PlayResult = 'done' | 'stopped';

/** What a call needs of its media; the media itself runs on the media thread. */
export interface MediaSession {
  readonly port: number;
  /** Applies an SDP result; again after each re-INVITE. */
  configure(neg: Negotiated): void;
  onKey(cb: (key: string) => void): void;
  /** A key from a SIP INFO request; copies of RFC 4733 keys are dropped. */
  infoKey(key: string): void;
  /** Plays 8 kHz audio; a new play() or stop() ends the current one ('stopped'). */
  play(samples: Int16Array): Promise<PlayResult>;
  stop(): void;
  /** Records what the caller says until the maximum, silence, or stopRecording(). */
  record(opts: RecordRequest): Promise<Recording>;
  stopRecording(reason: 'key' | 'hangup'): void;
  /** Stops the media and gives the port back; idempotent. */
  close(): Promise<void>;
}

interface Pending {
  resolve: (value: MediaReplyValue) => void;
  reject: (err: Error) => void;
}

/** Keys held per call until its flow listens: a phone typing ahead, not a flood, is kept. */
export const EARLY_KEYS = 32;

const WORKER = new URL('./media-worker.ts', import.meta.url);

export class MediaThread {
  readonly #settings: MediaThreadSettings;
  readonly #onExit: (err: Error) => void;
  readonly #onError: (err: unknown) => void;
  #worker: Worker | null = null;
  readonly #pending = new Map<number, Pending>();
  readonly #keyListeners = new Map<number, (key: string) => void>();
  /** Keys of open sessions that came before the call listened (before the ACK), held in order. */
  readonly #earlyKeys = new Map<number, string[]>();
  #nextReq = 1;
  #nextSid = 1;
  #stopped = false;

  /**
   * `onExit` hears of a media thread that died (its calls ended); a new one starts on demand.
   * `onError` hears of a failure handling one of its events (a call's key handler that threw).
   */
  constructor(
    settings: MediaThreadSettings,
    onExit: (err: Error) => void = () => {},
    onError: (err: unknown) => void = () => {},
  ) {
    this.#settings = settings;
    this.#onExit = onExit;
    this.#onError = onError;
  }

  /** Starts the media thread and waits until it answers. */
  static async start(
    settings: MediaThreadSettings,
    onExit?: (err: Error) => void,
    onError?: (err: unknown) => void,
  ): Promise<MediaThread> {
    const thread = new MediaThread(settings, onExit, onError);
    await thread.stats();
    return thread;
  }

  #spawn(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(WORKER, { workerData: this.#settings, name: 'voicegate-media' });
    worker.on('message', (event: MediaEvent) => {
      // One event's failure (a call's key handler that threw) is that call's, not the process's.
      try {
        this.#onEvent(event);
      } catch (err) {
        this.#onError(err);
      }
    });
    const died = (err: Error): void => {
      if (this.#worker !== worker) return;
      this.#worker = null;
      this.#keyListeners.clear();
      this.#earlyKeys.clear();
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
      if (!this.#stopped) this.#onExit(err);
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`the media thread exited (code ${code})`)));
    this.#worker = worker;
    return worker;
  }

  #onEvent(event: MediaEvent): void {
    if (event.op === 'key') {
      const listener = this.#keyListeners.get(event.sid);
      if (listener) return listener(event.key);
      const early = this.#earlyKeys.get(event.sid);
      if (early && early.length < EARLY_KEYS) early.push(event.key);
      return;
    }
    const pending = this.#pending.get(event.req);
    if (!pending) return;
    this.#pending.delete(event.req);
    if (event.op === 'reply') pending.resolve(event.value);
    else {
      const known = RTP_ERROR_CODES.includes(event.code as RtpErrorCode);
      pending.reject(
        new RtpError(known ? (event.code as RtpErrorCode) : 'MEDIA_THREAD', event.message),
      );
    }
  }

  /** Sends a command that needs no answer (sessions use it). */
  post(cmd: MediaCommand): void {
    if (this.#stopped) return;
    this.#spawn().postMessage(cmd);
  }

  /** Sends a request; its reply or error settles the promise (sessions use it). */
  request<T extends MediaReplyValue>(make: (req: number) => MediaCommand): Promise<T> {
    if (this.#stopped)
      return Promise.reject(new RtpError('MEDIA_THREAD', 'the media thread is stopped'));
    const req = this.#nextReq++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(req, { resolve: resolve as (v: MediaReplyValue) => void, reject });
      this.#spawn().postMessage(make(req));
    });
  }

  /** Binds an RTP port for a call. */
  async open(): Promise<MediaSession> {
    const sid = this.#nextSid++;
    this.#earlyKeys.set(sid, []);
    try {
      const { port } = await this.request<{ port: number }>((req) => ({ op: 'open', req, sid }));
      return new RemoteSession(this, sid, port);
    } catch (err) {
      this.#earlyKeys.delete(sid);
      throw err;
    }
  }

  /** The media clock's send lateness since the last reset. */
  stats(reset = false): Promise<ClockStats> {
    return this.request<ClockStats>((req) => ({ op: 'stats', req, reset }));
  }

  /** Ends the media thread and every call's media with it. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const worker = this.#worker;
    this.#worker = null;
    for (const p of this.#pending.values()) p.reject(new RtpError('MEDIA_THREAD', 'media stopped'));
    this.#pending.clear();
    this.#keyListeners.clear();
    this.#earlyKeys.clear();
    await worker?.terminate();
  }

  /**
   * Routes a session's keys to `cb`, first the keys that came before anyone listened (a phone
   * may send them as soon as it has the 200 OK, before its ACK reaches us); null: no longer,
   * the session is closed.
   */
  listen(sid: number, cb: ((key: string) => void) | null): void {
    const early = this.#earlyKeys.get(sid);
    this.#earlyKeys.delete(sid);
    if (!cb) {
      this.#keyListeners.delete(sid);
      return;
    }
    this.#keyListeners.set(sid, cb);
    for (const key of early ?? []) {
      // One key's failure is the call's, as for keys that come later.
      try {
        cb(key);
      } catch (err) {
        this.#onError(err);
      }
    }
  }
}

class RemoteSession implements MediaSession {
  readonly port: number;
  readonly #thread: MediaThread;
  readonly #sid: number;
  #closing: Promise<void> | null = null;

  constructor(thread: MediaThread, sid: number, port: number) {
    this.#thread = thread;
    this.#sid = sid;
    this.port = port;
  }

  configure(neg: Negotiated): void {
    this.#thread.post({ op: 'configure', sid: this.#sid, neg });
  }

  onKey(cb: (key: string) => void): void {
    this.#thread.listen(this.#sid, cb);
  }

  infoKey(key: string): void {
    this.#thread.post({ op: 'info-key', sid: this.#sid, key });
  }

  play(samples: Int16Array): Promise<PlayResult> {
    if (this.#closing) return Promise.resolve('stopped');
    return this.#thread
      .request<PlayResult>((req) => ({ op: 'play', req, sid: this.#sid, samples }))
      .catch(() => 'stopped' as const);
  }

  stop(): void {
    this.#thread.post({ op: 'stop', sid: this.#sid });
  }

  record(opts: RecordRequest): Promise<Recording> {
    const hungUp: Recording = {
      samples: new Int16Array(0),
      reason: 'hangup',
      durationMs: 0,
      heardSpeech: false,
    };
    if (this.#closing) return Promise.resolve(hungUp);
    return this.#thread
      .request<Recording>((req) => ({ op: 'record', req, sid: this.#sid, opts }))
      .catch(() => hungUp);
  }

  stopRecording(reason: 'key' | 'hangup'): void {
    this.#thread.post({ op: 'stop-recording', sid: this.#sid, reason });
  }

  close(): Promise<void> {
    this.#closing ??= this.#thread
      .request<null>((req) => ({ op: 'close', req, sid: this.#sid }))
      .then(
        () => {},
        () => {},
      )
      .finally(() => this.#thread.listen(this.#sid, null));
    return this.#closing;
  }
}
