/**
 * A scripted Call for the voicemail flows, plus fake prompts and speech that make every clip
 * recognisable. Kept here rather than in test/helpers: the engine's scripted call is another
 * engineer's and answers other questions.
 */
import {
  HangUp,
  type Call,
  type CallInfo,
  type PlayResult,
  type Recording,
  type RecordOptions,
  type TransferResult,
} from '../../../server/flows/call.ts';
import type { PromptSource, Speech } from '../../../server/flows/flow-deps.ts';

/** What each clip played was: a prompt name, `say:<text>`, or `audio:<ms>` for stored audio. */
const labels = new WeakMap<Int16Array, string>();

export function labelOf(samples: Int16Array): string {
  return labels.get(samples) ?? `audio:${Math.round(samples.length / 8)}`;
}

/** A distinct short tone per prompt name; records every name asked for. */
export class FakePrompts implements PromptSource {
  readonly asked: string[] = [];
  readonly #cache = new Map<string, Int16Array>();
  get(name: string, _language: string): Int16Array {
    this.asked.push(name);
    let samples = this.#cache.get(name);
    if (!samples) {
      samples = new Int16Array(16).fill(this.#cache.size + 1);
      this.#cache.set(name, samples);
      labels.set(samples, name);
    }
    return samples;
  }
  has(): boolean {
    return true;
  }
}

export class FakeSpeech implements Speech {
  readonly said: { text: string; language: string }[] = [];
  async say(text: string, language: string): Promise<Int16Array> {
    this.said.push({ text, language });
    const samples = new Int16Array(8);
    labels.set(samples, `say:${text}`);
    return samples;
  }
}

/**
 * One step of what the caller does, taken in order. Without `during`, a step happens when the
 * flow waits for a key; with it, when the clip so labelled starts playing (keys then interrupt
 * an interruptible clip). `silence` lets one wait for a key time out. When the script runs
 * out, the caller hangs up.
 */
export type Cue =
  { keys: string; during?: string } | { hangup: true; during?: string } | { silence: true };

/** A recording the caller makes: its length and how it ended. */
export interface Take {
  seconds: number;
  endedBy?: Recording['endedBy'];
  key?: string;
}

export class FakeCall implements Call {
  readonly info: CallInfo;
  /** Labels of every clip the flow started playing, in order. */
  readonly played: string[] = [];
  readonly transfers: string[] = [];
  readonly records: RecordOptions[] = [];
  /** How a transfer ends. */
  transferResult: TransferResult = 'transferred';
  hungUpByFlow = false;
  #ended = false;
  #keys: string[] = [];
  readonly #cues: Cue[];
  readonly #takes: Take[];
  #stuck = 0;

  constructor(opts: { cues?: Cue[]; takes?: Take[]; info?: Partial<CallInfo> } = {}) {
    this.#cues = [...(opts.cues ?? [])];
    this.#takes = [...(opts.takes ?? [])];
    this.info = {
      callId: 'call-1',
      callerNumber: '5551234',
      callerName: 'Ada Caller',
      dialled: '201',
      forwardedFrom: null,
      forwardReason: null,
      language: null,
      remote: '127.0.0.1:5070',
      ...opts.info,
    };
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Cues not yet used: a test checks the flow went as far as the script. */
  get pendingCues(): number {
    return this.#cues.length;
  }

  #fire(cue: Cue): void {
    if ('keys' in cue) this.#keys.push(...cue.keys);
    else if ('hangup' in cue) this.#ended = true;
  }

  async play(samples: Int16Array, opts: { interruptible?: boolean } = {}): Promise<PlayResult> {
    if (this.#ended) return 'hangup';
    const label = labelOf(samples);
    this.played.push(label);
    const head = this.#cues[0];
    if (head && 'during' in head && head.during === label) this.#fire(this.#cues.shift()!);
    if (this.#ended) return 'hangup';
    return opts.interruptible && this.#keys.length > 0 ? 'key' : 'done';
  }

  async nextKey(_timeoutMs: number): Promise<string | null> {
    for (;;) {
      if (this.#keys.length > 0) return this.#keys.shift()!;
      if (this.#ended) throw new HangUp();
      const head = this.#cues[0];
      if (!head) {
        this.#ended = true;
        throw new HangUp();
      }
      if ('silence' in head) {
        this.#cues.shift();
        return null;
      }
      if ('during' in head && head.during !== undefined) {
        // Waiting for a clip that has not played yet: this wait times out.
        if (++this.#stuck > 50) throw new Error(`script stuck waiting for "${head.during}"`);
        return null;
      }
      this.#fire(this.#cues.shift()!);
    }
  }

  clearKeys(): void {
    this.#keys = [];
  }

  async record(opts: RecordOptions): Promise<Recording> {
    this.records.push(opts);
    if (this.#ended) return { samples: new Int16Array(0), endedBy: 'hangup', key: null };
    const take = this.#takes.shift();
    if (!take) throw new Error('script: the flow recorded more often than expected');
    const samples = new Int16Array(Math.round(take.seconds * 8000)).fill(100);
    const endedBy = take.endedBy ?? 'key';
    if (endedBy === 'hangup') this.#ended = true;
    return { samples, endedBy, key: endedBy === 'key' ? (take.key ?? '#') : null };
  }

  async transfer(target: string): Promise<TransferResult> {
    this.transfers.push(target);
    if (this.transferResult === 'transferred') this.#ended = true;
    return this.transferResult;
  }

  async hangup(): Promise<void> {
    this.hungUpByFlow = true;
    this.#ended = true;
  }
}
