/**
 * Every prompt the voicemail flows play, by name. The texts live in
 * `server/prompts/text/<lang>/voicemail.yaml` (ours) and `common.yaml` (shared digits and
 * words); the prompt build turns them into WAVs. Names are stable: renaming one means
 * renaming it in every language file.
 */
import { KEY_PROMPTS as DIGIT_PROMPTS } from '../../prompts/digits.ts';

export const COMMON_PROMPTS = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'star',
  'pound',
  'goodbye',
  'please-try-again',
  'tone',
  'invalid-entry',
  'number-not-allowed',
] as const;

export const VOICEMAIL_PROMPTS = [
  // Leaving a message
  'extension-intro',
  'is-not-available',
  'person-not-available',
  'leave-message-after-tone',
  'no-such-mailbox',
  'message-too-short',
  'max-length-reached',
  'leave-options',
  'message-sent',
  'message-not-stored',
  // Logging in
  'enter-mailbox',
  'enter-code',
  'login-incorrect',
  // Main menu
  'you-have',
  'new-message',
  'new-messages',
  'and',
  'saved-message',
  'saved-messages',
  'main-menu',
  // Messages
  'no-new-messages',
  'no-saved-messages',
  'no-more-messages',
  'priority-message',
  'private-message',
  'message-from',
  'unknown-caller',
  'received',
  'message-options',
  'message-help',
  'message-saved',
  'message-deleted',
  'message-undeleted',
  'nothing-to-undelete',
  'message-marked-new',
  'enter-forward-mailbox',
  'message-forwarded',
  'private-cannot-forward',
  'cannot-forward-own',
  'forward-cancelled',
  'calling-back',
  'no-caller-number',
  'callback-failed',
  // Greetings and name
  'greetings-menu',
  'record-after-tone',
  'recording-options',
  'recording-too-short',
  'recording-cancelled',
  'greeting-saved',
  'name-saved',
  'choose-active-greeting',
  'greeting-activated',
  'greeting-not-recorded',
  // Code
  'enter-current-code',
  'enter-new-code',
  'reenter-new-code',
  'codes-do-not-match',
  'code-invalid',
  'digits',
  'code-changed',
] as const;

/** Reading the owner's e-mail (`email-menu.ts`); texts in `text/<lang>/email.yaml`. */
export const EMAIL_PROMPTS = [
  'main-menu-email',
  'new-email',
  'new-emails',
  'no-new-emails',
  'email-from',
  'email-sent',
  'email-subject',
  'email-words',
  'email-options',
  'email-help',
  'email-marked-read',
  'email-left-unread',
  'email-deleted',
  'no-more-emails',
  'no-previous-email',
  'email-unreachable',
  'email-login-failed',
  'email-not-changed',
  'email-cannot-read',
] as const;

export type CommonPrompt = (typeof COMMON_PROMPTS)[number];
export type VoicemailPrompt = (typeof VOICEMAIL_PROMPTS)[number];
export type EmailPrompt = (typeof EMAIL_PROMPTS)[number];
export type PromptName = CommonPrompt | VoicemailPrompt | EmailPrompt;

/** The prompt that speaks each key, for numbers said digit by digit. */
export const KEY_PROMPTS: Readonly<Record<string, CommonPrompt>> = DIGIT_PROMPTS;
