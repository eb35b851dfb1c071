/**
 * A caller leaves a message: greeting (with breakouts), tone, recording, a short review,
 * then the deposit. The promise resolves only once the message is durable, because the
 * telephony layer acknowledges the caller's BYE after it.
 */
import { callerGreetings, callReason } from '../../domain/greeting.ts';
import {
  BREAKOUT_KEYS,
  type GreetingKind,
  type MailboxRecord,
  type MailboxRef,
} from '../../domain/mailbox.ts';
import { isVoicegateError } from '../../domain/errors.ts';
import type { Call } from '../call.ts';
import type { FlowDeps } from '../flow-deps.ts';
import { durationMs, greetingSamples, samplesToWav, SAMPLES_PER_MS } from './audio.ts';
import { commandFor, GREETING_KEYS, LEAVE_REVIEW_KEYS } from './keymaps.ts';
import { MAX_QUIET, Prompter, untilHangUp, type Clip } from './prompter.ts';

export type LeaveResult =
  | { outcome: 'stored'; messageIds: string[] }
  /** Shorter than policy.minMessageSeconds: nothing kept. */
  | { outcome: 'discarded'; reason: 'too-short' }
  /** A breakout key sent the caller elsewhere. */
  | { outcome: 'transferred'; target: string }
  /** The caller hung up before the tone. */
  | { outcome: 'abandoned' }
  | { outcome: 'no-mailbox' };

export interface LeaveOptions {
  language: string;
  /** Play the mailbox's greeting first; false when the flow already played its own. Default true. */
  greeting?: boolean;
  /** Keys that end the recording; default '#'. */
  stopKeys?: string;
  /** Silence that ends the recording; default 8 s. */
  silenceSeconds?: number;
}

const DEFAULT_SILENCE_SECONDS = 8;

/**
 * `mailboxRef` is the mailbox the call resolved when it has one (then nothing is looked up
 * again during the call), else its name or extension.
 */
export async function leaveMessage(
  call: Call,
  deps: FlowDeps,
  mailboxRef: MailboxRef,
  opts: LeaveOptions,
): Promise<LeaveResult> {
  const p = new Prompter(call, deps, opts.language);
  const logCtx = {
    callId: call.info.callId,
    mailbox: typeof mailboxRef === 'string' ? mailboxRef : mailboxRef.name,
  };
  let mailbox: MailboxRecord;
  try {
    mailbox = await deps.mailboxes.resolve(mailboxRef);
  } catch (err) {
    if (!isVoicegateError(err, 'NOT_FOUND')) throw err;
    deps.log.warn(logCtx, 'leave message: no such mailbox');
    await untilHangUp(
      async () => {
        await p.say(['no-such-mailbox'], { interruptible: false });
        await p.goodbye();
      },
      () => undefined,
    );
    return { outcome: 'no-mailbox' };
  }

  const greeted = await untilHangUp(
    () => greet(p, mailbox, opts.greeting ?? true),
    () => 'hangup' as const,
  );
  if (greeted === 'hangup') return { outcome: 'abandoned' };
  if (greeted !== null) {
    deps.log.info({ ...logCtx, target: greeted }, 'leave message: breakout transfer');
    return { outcome: 'transferred', target: greeted };
  }

  const taken = await untilHangUp(
    () => takeMessage(p, opts),
    () => 'hangup' as const,
  );
  if (taken === 'hangup') return { outcome: 'abandoned' };
  if (taken === null || tooShort(deps, taken)) {
    deps.log.info(logCtx, 'leave message: too short, discarded');
    if (!call.ended)
      await untilHangUp(
        () => endWith(p, 'message-too-short'),
        () => undefined,
      );
    return { outcome: 'discarded', reason: 'too-short' };
  }

  let ids: string[];
  try {
    const stored = await deps.messages.deposit({
      mailbox,
      audio: samplesToWav(taken),
      callerNumber: call.info.callerNumber,
      callerName: call.info.callerName,
      channel: 'phone',
    });
    ids = stored.map((m) => m.id);
  } catch (err) {
    if (isVoicegateError(err, 'TOO_SHORT')) return { outcome: 'discarded', reason: 'too-short' };
    deps.log.error({ ...logCtx, err }, 'leave message: deposit failed');
    if (!call.ended)
      await untilHangUp(
        () => endWith(p, 'message-not-stored'),
        () => undefined,
      );
    throw err;
  }
  if (!call.ended)
    await untilHangUp(
      () => endWith(p, 'message-sent'),
      () => undefined,
    );
  return { outcome: 'stored', messageIds: ids };
}

async function endWith(
  p: Prompter,
  prompt: 'message-too-short' | 'message-sent' | 'message-not-stored',
) {
  await p.say([prompt], { interruptible: false });
  await p.goodbye();
}

function tooShort(deps: FlowDeps, samples: Int16Array): boolean {
  return samples.length === 0 || durationMs(samples) < deps.policy.minMessageSeconds * 1000;
}

/** The greeting a caller hears; returns the breakout number the caller was sent to, if any. */
async function greet(
  p: Prompter,
  mailbox: MailboxRecord,
  withGreeting: boolean,
): Promise<string | null> {
  for (const clip of withGreeting ? await greetingClips(p, mailbox) : []) {
    const target = await playWithBreakouts(p, mailbox, clip);
    if (target === 'skip') break;
    if (target !== null) return target;
  }
  await p.say(['tone'], { interruptible: false });
  p.call.clearKeys();
  return null;
}

/** The domain's choice of greeting (`callerGreetings`) as clips: the first one that plays. */
async function greetingClips(p: Prompter, mailbox: MailboxRecord): Promise<Clip[]> {
  const recorded = await p.deps.messages.greetings(mailbox);
  const choices = callerGreetings(
    mailbox,
    recorded.map((g) => g.kind),
    callReason(p.call.info.forwardReason),
  );
  for (const choice of choices) {
    switch (choice.say) {
      case 'greeting': {
        const greeting = await storedGreeting(p, mailbox, choice.kind);
        if (greeting) return [greeting];
        break;
      }
      case 'name': {
        const name = await storedGreeting(p, mailbox, 'name');
        if (name) return [name, 'is-not-available', 'leave-message-after-tone'];
        break;
      }
      case 'number':
        return [
          'extension-intro',
          ...p.digits(choice.number),
          'is-not-available',
          'leave-message-after-tone',
        ];
      case 'nobody':
        return ['person-not-available', 'leave-message-after-tone'];
    }
  }
  return ['person-not-available', 'leave-message-after-tone'];
}

async function storedGreeting(
  p: Prompter,
  mailbox: MailboxRecord,
  kind: GreetingKind,
): Promise<Int16Array | null> {
  try {
    return await greetingSamples(p.deps, mailbox, kind);
  } catch (err) {
    // A greeting that cannot be read must not cost the caller the message: fall back.
    p.deps.log.warn({ mailbox: mailbox.name, kind, err }, 'greeting unreadable');
    return null;
  }
}

/**
 * Plays one clip of the greeting. Keys 0, 2, 3 transfer to the mailbox's breakout numbers,
 * `#` skips to the tone; any other key (or a breakout key with no number) is ignored and the
 * clip goes on from about where it was cut.
 */
async function playWithBreakouts(
  p: Prompter,
  mailbox: MailboxRecord,
  clip: Clip,
): Promise<string | 'skip' | null> {
  let samples = typeof clip === 'string' ? p.deps.prompts.get(clip, p.language) : clip;
  while (samples.length > 0) {
    const started = p.deps.now();
    if ((await p.say([samples])) === 'done') return null;
    const key = await p.takeKey();
    if (commandFor(GREETING_KEYS, key) === 'skip') return 'skip';
    const target = breakoutFor(mailbox, key);
    if (target) {
      const result = await p.call.transfer(target);
      if (result === 'transferred') return target;
      p.deps.log.warn({ mailbox: mailbox.name, target, result }, 'breakout transfer refused');
      if (result === 'not-allowed') await p.say(['number-not-allowed'], { interruptible: false });
      return 'skip';
    }
    const playedMs = Math.max(0, p.deps.now() - started);
    const offset = Math.round(playedMs * SAMPLES_PER_MS);
    if (offset > 0) samples = samples.subarray(offset);
  }
  return null;
}

function breakoutFor(mailbox: MailboxRecord, key: string | null): string | null {
  const k = BREAKOUT_KEYS.find((b) => b === key);
  return k ? (mailbox.breakouts[k] ?? null) : null;
}

/**
 * Records after the tone and lets the caller review: send, listen, or record again. Returns
 * the samples to keep (a hang-up keeps what was recorded), or null when there is nothing.
 */
async function takeMessage(p: Prompter, opts: LeaveOptions): Promise<Int16Array | null> {
  const { call, deps } = p;
  const maxSamples = deps.policy.maxMessageSeconds * 1000 * SAMPLES_PER_MS;
  for (;;) {
    deps.log.debug({ callId: call.info.callId }, 'leave message: recording');
    p.collecting('recording'); // the stop keys end it
    const rec = await call.record({
      maxMs: deps.policy.maxMessageSeconds * 1000,
      silenceMs: (opts.silenceSeconds ?? DEFAULT_SILENCE_SECONDS) * 1000,
      stopKeys: opts.stopKeys ?? '#',
    });
    const samples = rec.samples.subarray(0, maxSamples);
    if (rec.endedBy === 'hangup' || tooShort(deps, samples)) return samples;
    const choice = await untilHangUp(
      () => review(p, samples, rec.endedBy === 'max'),
      () => 'send' as const,
    );
    if (choice === 'send') return samples;
    await p.say(['tone'], { interruptible: false });
    call.clearKeys();
  }
}

async function review(
  p: Prompter,
  samples: Int16Array,
  atMax: boolean,
): Promise<'send' | 'rerecord'> {
  if (atMax) await p.say(['max-length-reached']);
  for (let quiet = 0; quiet < MAX_QUIET;) {
    const key = await p.ask(['leave-options']);
    if (key === null) {
      quiet++;
      continue;
    }
    switch (commandFor(LEAVE_REVIEW_KEYS, key)) {
      case 'send':
        return 'send';
      case 'rerecord':
        return 'rerecord';
      case 'listen':
        // A key pressed while listening answers the options, which come next.
        await p.say([samples]);
        break;
      default:
        await p.say(['invalid-entry']);
    }
  }
  // Nobody answers the options: the message was meant to be sent.
  return 'send';
}
