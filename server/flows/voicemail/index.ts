/** The built-in voicemail call flows, as the flow engine calls them. */
export { leaveMessage, type LeaveOptions, type LeaveResult } from './leave-message.ts';
export { collectMessages, type CollectOptions } from './collect-messages.ts';
export { VOICEMAIL_PROMPTS, COMMON_PROMPTS, type PromptName } from './prompt-names.ts';
export { playMessageOnPhone } from './play-on-phone.ts';
