import {
  HangUp,
  type Call,
  type CallInfo,
  type PlayResult,
  type Recording,
  type RecordOptions,
  type TransferResult,
} from '../../server/flows/call.ts';

/** A key the caller types: `afterMs` after the previous wait for a key started. */
export interface ScriptedKey {
  key: string;
  afterMs?: number;
}

export type ScriptEvent =
  | { type: 'play'; samples: number; interruptible: boolean }
  | { type: 'record'; opts: RecordOptions }
  | { type: 'transfer'; target: string }
  | { type: 'hangup'; by: 'flow' | 'caller' };

export interface ScriptedCallOptions {
  info?: Partial<CallInfo>;
  /** Keys in order; each is "typed" when a nextKey() wait reaches it. `null` = let it time out. */
  keys?: (ScriptedKey | string | null)[];
  /** What record() returns, in order. */
  recordings?: Partial<Recording>[];
  /** How transfers end (default: accepted). */
  transferResult?: TransferResult;
  /** The caller hangs up when the flow has made this many media operations (play, nextKey, record). */
  hangUpAfterOps?: number;
}

/**
 * The Call port without SIP or RTP, driven by a script. Time is simulated: a key with `afterMs`
 * at or beyond the timeout makes nextKey() time out, so menus run instantly.
 */
export class ScriptedCall implements Call {
  readonly info: CallInfo;
  readonly events: ScriptEvent[] = [];
  /** Samples of each play, in order, so tests can tell which prompt was played. */
  readonly played: Int16Array[] = [];
  #ended = false;
  #keys: (ScriptedKey | null)[];
  #recordings: Partial<Recording>[];
  #ops = 0;
  readonly #o: ScriptedCallOptions;

  constructor(opts: ScriptedCallOptions = {}) {
    this.#o = opts;
    this.info = {
      callId: 'call-1',
      callerNumber: '5551234',
      callerName: 'Caller',
      dialled: '5000',
      forwardedFrom: null,
      forwardReason: null,
      language: null,
      remote: '127.0.0.1:5062',
      ...opts.info,
    };
    this.#keys = (opts.keys ?? []).map((k) => (typeof k === 'string' ? { key: k } : k));
    this.#recordings = [...(opts.recordings ?? [])];
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Keys not yet consumed. */
  get keysLeft(): number {
    return this.#keys.length;
  }

  #op(): void {
    this.#ops++;
    if (
      this.#o.hangUpAfterOps !== undefined &&
      this.#ops > this.#o.hangUpAfterOps &&
      !this.#ended
    ) {
      this.#ended = true;
      this.events.push({ type: 'hangup', by: 'caller' });
    }
  }

  async play(samples: Int16Array, opts: { interruptible?: boolean } = {}): Promise<PlayResult> {
    this.#op();
    if (this.#ended) return 'hangup';
    this.played.push(samples);
    this.events.push({
      type: 'play',
      samples: samples.length,
      interruptible: !!opts.interruptible,
    });
    // A key typed without delay interrupts an interruptible prompt and stays queued.
    const next = this.#keys[0];
    if (opts.interruptible && next && !next.afterMs) return 'key';
    return 'done';
  }

  async nextKey(timeoutMs: number): Promise<string | null> {
    this.#op();
    if (this.#ended) throw new HangUp();
    if (this.#keys.length === 0) return null;
    const next = this.#keys[0]!;
    if (next === null) {
      this.#keys.shift();
      return null;
    }
    if ((next.afterMs ?? 0) >= timeoutMs) {
      next.afterMs! -= timeoutMs;
      return null;
    }
    this.#keys.shift();
    return next.key;
  }

  clearKeys(): void {}

  async record(opts: RecordOptions): Promise<Recording> {
    this.#op();
    this.events.push({ type: 'record', opts });
    const r = this.#recordings.shift() ?? {};
    if (this.#ended) return { samples: new Int16Array(0), endedBy: 'hangup', key: null };
    if (r.endedBy === 'hangup') {
      this.#ended = true;
      this.events.push({ type: 'hangup', by: 'caller' });
    }
    return {
      samples: r.samples ?? new Int16Array(8000),
      endedBy: r.endedBy ?? 'key',
      key: r.key ?? (r.endedBy === undefined || r.endedBy === 'key' ? '#' : null),
    };
  }

  async transfer(target: string): Promise<TransferResult> {
    this.events.push({ type: 'transfer', target });
    return this.#o.transferResult ?? 'transferred';
  }

  async hangup(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.events.push({ type: 'hangup', by: 'flow' });
  }
}
