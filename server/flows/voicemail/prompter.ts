import { HangUp, type Call } from '../call.ts';
import type { FlowDeps } from '../flow-deps.ts';
import { KEY_PROMPTS, type PromptName } from './prompt-names.ts';

/** A named prompt, or samples already at hand (a greeting, a message, speech). */
export type Clip = PromptName | Int16Array;

/** How long a menu waits for a key after its prompt. */
export const KEY_TIMEOUT_MS = 5000;
/** Waiting for the first digit of a number or code, then for each next one. */
export const FIRST_DIGIT_MS = 8000;
export const INTER_DIGIT_MS = 5000;
/** Menus repeat this many times without an answer before giving up. */
export const MAX_QUIET = 3;
const MAX_DIGITS = 32;

/**
 * Plays prompts in one language and reads keys. A hang-up surfaces as a `HangUp` throw
 * from every method, so flows unwind to their top level in one place.
 */
export class Prompter {
  readonly call: Call;
  readonly deps: FlowDeps;
  readonly language: string;

  constructor(call: Call, deps: FlowDeps, language: string) {
    this.call = call;
    this.deps = deps;
    this.language = language;
  }

  /**
   * Plays clips in order. A key stops the sequence and stays queued (type-ahead); the result
   * says whether one did. With `interruptible: false` keys wait until the end.
   */
  async say(clips: Clip[], opts: { interruptible?: boolean } = {}): Promise<'done' | 'key'> {
    for (const clip of clips) {
      const samples = typeof clip === 'string' ? this.deps.prompts.get(clip, this.language) : clip;
      const result = await this.call.play(samples, {
        interruptible: opts.interruptible ?? true,
      });
      if (result === 'hangup') throw new HangUp();
      if (result === 'key') return 'key';
    }
    return 'done';
  }

  /**
   * Logs (debug) that keys typed from now on answer `menu`: typed over its prompt, they cut it
   * short and are kept. Tests and support follow a call by it ("Following a call", README).
   */
  collecting(menu: string): void {
    this.deps.log.debug({ callId: this.call.info.callId, menu }, 'collecting keys');
  }

  /** Plays a menu prompt, then waits for one key; null when none came. */
  async ask(clips: Clip[], timeoutMs = KEY_TIMEOUT_MS): Promise<string | null> {
    this.collecting(menuName(clips));
    await this.say(clips);
    return this.call.nextKey(timeoutMs);
  }

  /** The key that interrupted a prompt (it is queued already). */
  takeKey(): Promise<string | null> {
    return this.call.nextKey(1000);
  }

  /**
   * Plays a prompt and reads digits until `#` or a pause. `*` starts the entry again.
   * Returns '' for a lone `#`, null when nothing at all was typed.
   */
  async readDigits(clips: Clip[]): Promise<string | null> {
    this.collecting(menuName(clips));
    await this.say(clips);
    let digits = '';
    let typed = false;
    for (;;) {
      const key = await this.call.nextKey(typed ? INTER_DIGIT_MS : FIRST_DIGIT_MS);
      if (key === null) return typed ? digits : null;
      typed = true;
      if (key === '#') return digits;
      if (key === '*') digits = '';
      else if (/^[0-9]$/.test(key)) digits += key;
      if (digits.length >= MAX_DIGITS) return digits;
    }
  }

  /** A number said digit by digit ("2 0 1"); characters without a prompt are skipped. */
  digits(text: string): Clip[] {
    return [...text].flatMap((c) => (KEY_PROMPTS[c] ? [KEY_PROMPTS[c]] : []));
  }

  /** A count: its digit prompt up to nine, synthesized speech above. */
  async count(n: number): Promise<Clip[]> {
    if (n >= 0 && n <= 9) return this.digits(String(n));
    return [await this.deps.speech.say(String(n), this.language)];
  }

  /** Says goodbye and ends the call. */
  async goodbye(): Promise<void> {
    await this.say(['goodbye'], { interruptible: false });
    await this.call.hangup();
  }
}

/** A menu is named for its first prompt (`main-menu`, `enter-code`). */
function menuName(clips: Clip[]): string {
  const first = clips[0];
  return typeof first === 'string' ? first : 'speech';
}

/** Runs `body`, turning a hang-up into `onHangUp`'s value; other errors pass. */
export async function untilHangUp<T, U>(body: () => Promise<T>, onHangUp: () => U): Promise<T | U> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof HangUp) return onHangUp();
    throw err;
  }
}
