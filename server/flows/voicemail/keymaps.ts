/**
 * The keymaps of the voicemail flows, as data: one table per menu, key -> command. Each flow
 * looks a key up here and dispatches on the command; README.md lists the same tables for
 * people. Close to Avaya Intuity AUDIX, simplified to single keys (AUDIX's `*D` delete is
 * `3`, its "skip" is `#`).
 */
import type { ActiveGreeting } from '../../domain/mailbox.ts';

/** While a caller hears the greeting. Keys 0, 2, 3 also transfer to the mailbox's breakouts. */
export const GREETING_KEYS = { '#': 'skip' } as const;

/** After a caller recorded a message (# ended it, or the maximum length). */
export const LEAVE_REVIEW_KEYS = { '#': 'send', '2': 'listen', '3': 'rerecord' } as const;

export const MAIN_MENU_KEYS = {
  '1': 'new',
  '2': 'saved',
  '3': 'greetings',
  '4': 'changeCode',
  '5': 'email',
  '*': 'help',
  '#': 'goodbye',
  '9': 'goodbye',
} as const;

/** During a message's header, during the message, and after it. */
export const MESSAGE_KEYS = {
  '0': 'replay',
  '1': 'replayHeader',
  '2': 'callback',
  '3': 'delete',
  '5': 'forward',
  '6': 'markNew',
  '7': 'save',
  '8': 'undelete',
  '9': 'mainMenu',
  '#': 'next',
  '*': 'help',
} as const;

/**
 * While an e-mail is read (its header, its text) and after it: the message keys where they
 * mean the same (0, 1, 3, 6, 7, 9, #, *), 4 for the previous one.
 */
export const EMAIL_KEYS = {
  '0': 'replay',
  '1': 'replayHeader',
  '3': 'delete',
  '4': 'previous',
  '6': 'leaveUnread',
  '7': 'markRead',
  '9': 'mainMenu',
  '#': 'next',
  '*': 'help',
} as const;

export const GREETING_MENU_KEYS = {
  '1': 'recordUnavailable',
  '2': 'recordBusy',
  '3': 'recordTemporary',
  '4': 'recordName',
  '5': 'listen',
  '6': 'choose',
  '*': 'help',
  '#': 'back',
  '9': 'back',
} as const;

export const ACTIVE_GREETING_KEYS = {
  '1': 'unavailable',
  '2': 'busy',
  '3': 'temporary',
} as const satisfies Record<string, ActiveGreeting>;

/** After an owner recorded a greeting or the name. */
export const RECORDING_REVIEW_KEYS = {
  '#': 'keep',
  '2': 'listen',
  '3': 'rerecord',
  '9': 'cancel',
} as const;

/** The command a key stands for in `map`, or null for a key the menu does not use. */
export function commandFor<M extends Readonly<Record<string, string>>>(
  map: M,
  key: string | null,
): M[keyof M] | null {
  return key !== null && Object.hasOwn(map, key) ? (map[key as keyof M] ?? null) : null;
}
