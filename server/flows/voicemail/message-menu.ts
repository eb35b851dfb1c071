/**
 * Playing an owner's messages, one category at a time, with the keys of MESSAGE_KEYS.
 * Every change goes through MessageService, so IMAP, the web and the lamp see it at once.
 */
import { isVoicegateError } from '../../domain/errors.ts';
import type { Message } from '../../domain/message.ts';
import type { LiveState, MessageAction } from '../../domain/message-state.ts';
import { HEARD_STATES, WAITING_STATES } from '../../domain/waiting.ts';
import { wavToSamples } from './audio.ts';
import { commandFor, MESSAGE_KEYS } from './keymaps.ts';
import { KEY_TIMEOUT_MS, MAX_QUIET, type Clip } from './prompter.ts';
import type { Session } from './session.ts';

export type Category = 'new' | 'saved';
const CATEGORY_STATES: Record<Category, readonly LiveState[]> = {
  new: WAITING_STATES,
  saved: HEARD_STATES,
};

type Command = (typeof MESSAGE_KEYS)[keyof typeof MESSAGE_KEYS];
/** What follows a command: another message, the main menu, the end, or more keys here. */
type After = 'next' | 'mainMenu' | 'ended' | 'options' | 'wait' | { key: string | null };

/** Plays the category's messages in playback order; 'ended' when the call is over. */
export async function playMessages(s: Session, category: Category): Promise<'menu' | 'ended'> {
  const states = CATEGORY_STATES[category];
  // The domain's list is already in the configured playback order (FIFO or LIFO).
  const list = (await s.deps.messages.list(s.mailbox.id)).filter((m) =>
    states.includes(m.state as LiveState),
  );
  if (list.length === 0) {
    await s.p.say([category === 'new' ? 'no-new-messages' : 'no-saved-messages']);
    return 'menu';
  }
  for (const message of list) {
    const outcome = await reviewMessage(s, message);
    if (outcome === 'ended') return 'ended';
    if (outcome === 'mainMenu') return 'menu';
  }
  await s.p.say(['no-more-messages']);
  return 'menu';
}

export async function reviewMessage(
  s: Session,
  message: Message,
): Promise<'next' | 'mainMenu' | 'ended'> {
  let key = await present(s, message, true);
  let prompt = true;
  let quiet = 0;
  for (;;) {
    if (key === null) {
      if (quiet >= MAX_QUIET) return 'next';
      key = prompt ? await s.p.ask(['message-options']) : await s.call.nextKey(KEY_TIMEOUT_MS);
      prompt = true;
      if (key === null) {
        quiet++;
        continue;
      }
    }
    quiet = 0;
    const command = commandFor(MESSAGE_KEYS, key);
    key = null;
    if (command === null) {
      await s.p.say(['invalid-entry']);
      continue;
    }
    const after = await COMMANDS[command](s, message);
    if (after === 'next' || after === 'mainMenu' || after === 'ended') return after;
    if (after === 'wait') prompt = false;
    else if (after !== 'options') key = after.key;
  }
}

/**
 * Plays the header (optional) and the message. Returns the key that interrupted them, or
 * null when both played through. Hearing the header makes a new message unopened; hearing
 * the message (even cut short by a key) makes it old.
 */
async function present(s: Session, message: Message, withHeader: boolean): Promise<string | null> {
  if (withHeader) {
    const interrupted = (await s.p.say(await headerClips(s, message))) === 'key';
    await act(s, message, 'playHeader');
    if (interrupted) return s.p.takeKey();
  }
  const samples = await messageSamples(s, message);
  if (!samples) return null;
  const interrupted = (await s.p.say([samples])) === 'key';
  await act(s, message, 'play');
  return interrupted ? s.p.takeKey() : null;
}

async function headerClips(s: Session, message: Message): Promise<Clip[]> {
  const clips: Clip[] = [];
  if (message.priority === 'high') clips.push('priority-message');
  if (message.private) clips.push('private-message');
  clips.push('message-from');
  const digits = message.callerNumber ? s.p.digits(message.callerNumber) : [];
  clips.push(...(digits.length > 0 ? digits : ['unknown-caller' as const]));
  // The time as the mailbox's owner lives it: their zone and their language.
  const when = spokenTime(message.receivedAt, s.mailbox.timeZone, s.mailbox.locale);
  clips.push('received', await s.deps.speech.say(when, s.mailbox.locale));
  return clips;
}

/** e.g. "Monday, March 2 at 3:05 PM", "lundi 2 mars à 15:05". */
export function spokenTime(utcMs: number, timeZone: string, locale: string): string {
  const options: Intl.DateTimeFormatOptions = {
    timeZone,
    weekday: 'long',
    month: 'long',
    day: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
  };
  let text: string;
  try {
    text = new Intl.DateTimeFormat(locale, options).format(utcMs);
  } catch {
    text = new Intl.DateTimeFormat('en', options).format(utcMs);
  }
  // ICU puts narrow no-break spaces before AM/PM in some versions: plain spaces for speech.
  return text.replace(/[\u00a0\u202f]/g, ' ');
}

async function messageSamples(s: Session, message: Message): Promise<Int16Array | null> {
  try {
    return wavToSamples(await s.deps.messages.messageAudio(s.mailbox.id, message.id));
  } catch (err) {
    s.deps.log.warn({ mailbox: s.mailbox.name, messageId: message.id, err }, 'message unplayable');
    return null;
  }
}

/** A state change; false when another channel removed or changed the message meanwhile. */
async function act(s: Session, message: Message, action: MessageAction): Promise<boolean> {
  try {
    await s.deps.messages.act(s.mailbox.id, message.id, action);
    return true;
  } catch (err) {
    if (!isVoicegateError(err, 'NOT_FOUND') && !isVoicegateError(err, 'INVALID_STATE')) throw err;
    s.deps.log.info({ messageId: message.id, action, code: err.code }, 'message changed elsewhere');
    return false;
  }
}

const COMMANDS: Record<Command, (s: Session, m: Message) => Promise<After>> = {
  replay: async (s, m) => ({ key: await present(s, m, false) }),
  replayHeader: async (s, m) => ({ key: await present(s, m, true) }),
  next: async () => 'next',
  mainMenu: async () => 'mainMenu',
  help: async (s) => {
    await s.p.say(['message-help']);
    return 'wait';
  },
  save: async (s, m) => {
    if (await act(s, m, 'save')) await s.p.say(['message-saved']);
    return 'next';
  },
  delete: async (s, m) => {
    if (await act(s, m, 'delete')) {
      s.deleted.push(m.id);
      await s.p.say(['message-deleted']);
    }
    return 'next';
  },
  markNew: async (s, m) => {
    if (await act(s, m, 'markUnread')) await s.p.say(['message-marked-new']);
    return 'next';
  },
  undelete: async (s) => {
    const id = s.deleted.pop();
    if (id === undefined) {
      await s.p.say(['nothing-to-undelete']);
      return 'options';
    }
    try {
      await s.deps.messages.act(s.mailbox.id, id, 'undelete');
      await s.p.say(['message-undeleted']);
    } catch (err) {
      if (!isVoicegateError(err, 'NOT_FOUND')) throw err;
      // Purged meanwhile (housekeeping, another channel): nothing left to restore.
      await s.p.say(['nothing-to-undelete']);
    }
    return 'options';
  },
  forward: async (s, m) => {
    const target = await s.p.readDigits(['enter-forward-mailbox']);
    if (!target) {
      await s.p.say(['forward-cancelled']);
      return 'options';
    }
    try {
      await s.deps.messages.forward(s.mailbox.id, m.id, target);
      await s.p.say(['message-forwarded']);
    } catch (err) {
      // The domain decides who may forward what; the phone only words its answer.
      if (isVoicegateError(err, 'FORBIDDEN')) await s.p.say(['private-cannot-forward']);
      else if (isVoicegateError(err, 'NOT_FOUND')) await s.p.say(['no-such-mailbox']);
      else if (isVoicegateError(err, 'INVALID_INPUT')) await s.p.say(['cannot-forward-own']);
      else throw err;
    }
    return 'options';
  },
  callback: async (s, m) => {
    if (!m.callerNumber) {
      await s.p.say(['no-caller-number']);
      return 'options';
    }
    await s.p.say(['calling-back'], { interruptible: false });
    // The caller's number is caller data: the telephony layer dials it only as a number the
    // dial plan allows, never as the URI it may be.
    const result = await s.call.transfer(m.callerNumber);
    if (result === 'transferred') {
      s.deps.log.info({ mailbox: s.mailbox.name, messageId: m.id }, 'call back transferred');
      return 'ended';
    }
    await s.p.say([result === 'not-allowed' ? 'number-not-allowed' : 'callback-failed']);
    return 'options';
  },
};
