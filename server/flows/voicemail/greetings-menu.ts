/** The owner's greetings menu (GREETING_MENU_KEYS): record, listen, choose the active one. */
import { callerGreetings, recordedGreeting } from '../../domain/greeting.ts';
import type { ActiveGreeting, GreetingKind } from '../../domain/mailbox.ts';
import { HangUp } from '../call.ts';
import { durationMs, samplesToWav, wavToSamples } from './audio.ts';
import {
  ACTIVE_GREETING_KEYS,
  commandFor,
  GREETING_MENU_KEYS,
  RECORDING_REVIEW_KEYS,
} from './keymaps.ts';
import { MAX_QUIET } from './prompter.ts';
import type { Session } from './session.ts';

/** Shorter than this is a slip of the finger, not a greeting. */
const MIN_RECORDING_MS = 500;
const SILENCE_MS = 5000;

type Command = (typeof GREETING_MENU_KEYS)[keyof typeof GREETING_MENU_KEYS];
const RECORDS: Partial<Record<Command, GreetingKind>> = {
  recordUnavailable: 'unavailable',
  recordBusy: 'busy',
  recordTemporary: 'temporary',
  recordName: 'name',
};

export async function greetingsMenu(s: Session): Promise<void> {
  for (let quiet = 0; quiet < MAX_QUIET;) {
    const key = await s.p.ask(['greetings-menu']);
    if (key === null) {
      quiet++;
      continue;
    }
    quiet = 0;
    const command = commandFor(GREETING_MENU_KEYS, key);
    const kind = command ? RECORDS[command] : undefined;
    if (kind) await recordGreeting(s, kind);
    else if (command === 'listen') await listenToActive(s);
    else if (command === 'choose') await chooseActive(s);
    else if (command === 'back') return;
    else if (command !== 'help') await s.p.say(['invalid-entry']);
  }
}

/** Records, lets the owner review, and stores through the domain (which checks the length). */
async function recordGreeting(s: Session, kind: GreetingKind): Promise<void> {
  const { p, call, deps } = s;
  for (;;) {
    await p.say(['record-after-tone']);
    await p.say(['tone'], { interruptible: false });
    call.clearKeys();
    const rec = await call.record({
      maxMs: deps.policy.maxMessageSeconds * 1000,
      silenceMs: SILENCE_MS,
      stopKeys: '#',
    });
    // A greeting cut off by a hang-up is not what its owner meant callers to hear.
    if (rec.endedBy === 'hangup') throw new HangUp();
    if (durationMs(rec.samples) < MIN_RECORDING_MS) {
      await p.say(['recording-too-short']);
      return;
    }
    const choice = await reviewRecording(s, rec.samples);
    if (choice === 'rerecord') continue;
    if (choice === 'cancel') {
      await p.say(['recording-cancelled']);
      return;
    }
    await deps.messages.setGreeting(s.mailbox.name, kind, samplesToWav(rec.samples));
    deps.log.info({ mailbox: s.mailbox.name, kind }, 'greeting recorded by phone');
    await p.say([kind === 'name' ? 'name-saved' : 'greeting-saved']);
    return;
  }
}

async function reviewRecording(
  s: Session,
  samples: Int16Array,
): Promise<'keep' | 'rerecord' | 'cancel'> {
  for (let quiet = 0; quiet < MAX_QUIET;) {
    const key = await s.p.ask(['recording-options']);
    if (key === null) {
      quiet++;
      continue;
    }
    const command = commandFor(RECORDING_REVIEW_KEYS, key);
    if (command === 'listen') await s.p.say([samples]);
    else if (command !== null) return command;
    else await s.p.say(['invalid-entry']);
  }
  return 'keep';
}

async function listenToActive(s: Session): Promise<void> {
  const current = await s.deps.mailboxes.resolve(s.mailbox.name);
  const bytes = await s.deps.messages.greetingAudio(current.name, current.activeGreeting);
  await s.p.say(bytes ? [wavToSamples(bytes)] : ['greeting-not-recorded']);
}

async function chooseActive(s: Session): Promise<void> {
  const kind: ActiveGreeting | null = commandFor(
    ACTIVE_GREETING_KEYS,
    await s.p.ask(['choose-active-greeting']),
  );
  if (kind === null) {
    await s.p.say(['invalid-entry']);
    return;
  }
  await s.deps.mailboxes.update(s.mailbox.name, { activeGreeting: kind });
  s.mailbox = { ...s.mailbox, activeGreeting: kind };
  await s.p.say(['greeting-activated']);
  const recorded = (await s.deps.messages.greetings(s.mailbox.name)).map((g) => g.kind);
  // Callers will hear the name or the number instead: say so now rather than be surprised.
  if (recordedGreeting(callerGreetings(s.mailbox, recorded, 'direct')) !== kind)
    await s.p.say(['greeting-not-recorded']);
}
