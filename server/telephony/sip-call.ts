import type {
  Call,
  CallInfo,
  PlayResult,
  RecordOptions,
  Recording,
  TransferResult,
} from '../flows/call.ts';
import { HangUp } from '../flows/call.ts';
import type { MediaSession } from '../rtp/media-thread.ts';
import type { Dialog } from '../sip/api.ts';

/**
 * The URI a transfer to `target` sends the caller to, or null when the dial plan refuses it
 * (`Dialler.transferUri`): the URI is always the server's own making.
 */
export type ReferUri = (target: string) => Promise<string | null>;

/** Trims the tone of the key that ended a recording (it reaches us before the key event). */
const KEY_TONE_MS = 120;

/**
 * A live call as call flows see it: one SIP dialog and its RTP session. Keys arrive from
 * RFC 4733 and SIP INFO through the session's de-duplicating key stream.
 */
export class SipCall implements Call {
  readonly info: CallInfo;
  readonly #dialog: Dialog;
  readonly #rtp: MediaSession;
  readonly #keys: string[] = [];
  #keyWaiter: ((key: string | null) => void) | null = null;
  #playing: ((key: boolean) => void) | null = null;
  /** The keys that end the recording in progress, if one is. */
  #recording: { stopKeys: string } | null = null;
  #ended = false;

  readonly #referUri: ReferUri;

  /** `referUri` turns a number into the URI a transfer (REFER) sends the caller to, or refuses it. */
  constructor(info: CallInfo, dialog: Dialog, rtp: MediaSession, referUri: ReferUri) {
    this.info = info;
    this.#referUri = referUri;
    this.#dialog = dialog;
    this.#rtp = rtp;
    rtp.onKey((key) => this.#onKey(key));
    dialog.onEnd(() => this.markEnded());
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** The far end hung up (BYE) or the dialog ended: every wait ends now. */
  markEnded(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#rtp.stop();
    if (this.#recording) this.#rtp.stopRecording('hangup');
    this.#keyWaiter?.(null);
  }

  #onKey(key: string): void {
    const rec = this.#recording;
    if (rec && rec.stopKeys.includes(key)) {
      this.#rtp.stopRecording('key');
      this.#keys.push(key);
      return;
    }
    if (rec) return; // other keys during a recording are part of the message
    if (this.#keyWaiter) {
      const waiter = this.#keyWaiter;
      this.#keyWaiter = null;
      waiter(key);
      return;
    }
    this.#keys.push(key);
    if (this.#playing) this.#playing(true);
  }

  async play(samples: Int16Array, opts: { interruptible?: boolean } = {}): Promise<PlayResult> {
    if (this.#ended) return 'hangup';
    if (opts.interruptible && this.#keys.length > 0) return 'key';
    const interrupted = new Promise<boolean>((resolve) => {
      this.#playing = opts.interruptible ? resolve : null;
    });
    const result = await Promise.race([this.#rtp.play(samples).then(() => false), interrupted]);
    this.#playing = null;
    if (result) this.#rtp.stop();
    if (this.#ended) return 'hangup';
    return result ? 'key' : 'done';
  }

  async nextKey(timeoutMs: number): Promise<string | null> {
    if (this.#keys.length > 0) return this.#keys.shift()!;
    if (this.#ended) throw new HangUp();
    const key = await new Promise<string | null>((resolve) => {
      const timer = setTimeout(() => {
        this.#keyWaiter = null;
        resolve(null);
      }, timeoutMs);
      this.#keyWaiter = (k) => {
        clearTimeout(timer);
        resolve(k);
      };
    });
    if (key === null && this.#ended) throw new HangUp();
    return key;
  }

  clearKeys(): void {
    this.#keys.length = 0;
  }

  async record(opts: RecordOptions): Promise<Recording> {
    if (this.#ended) return { samples: new Int16Array(0), endedBy: 'hangup', key: null };
    this.#recording = { stopKeys: opts.stopKeys };
    const done = await this.#rtp.record({
      maxMs: opts.maxMs,
      silenceMs: opts.silenceMs > 0 ? opts.silenceMs : opts.maxMs + 1000,
    });
    this.#recording = null;
    let samples = done.samples;
    let key: string | null = null;
    if (done.reason === 'key') {
      key = this.#keys.pop() ?? null;
      samples = samples.subarray(0, Math.max(0, samples.length - KEY_TONE_MS * 8));
    }
    const endedBy =
      done.reason === 'stopped' ? 'hangup' : done.reason === 'hangup' ? 'hangup' : done.reason;
    return { samples, endedBy, key };
  }

  async transfer(target: string): Promise<TransferResult> {
    if (this.#ended) return 'failed';
    try {
      const uri = await this.#referUri(target);
      if (uri === null) return 'not-allowed';
      const res = await this.#dialog.refer(uri);
      return res.status >= 200 && res.status < 300 ? 'transferred' : 'failed';
    } catch {
      return 'failed';
    }
  }

  async hangup(): Promise<void> {
    if (this.#ended) return;
    this.markEnded();
    await this.#dialog.bye().catch(() => {});
  }
}
