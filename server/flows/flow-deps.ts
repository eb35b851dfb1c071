import type { MailboxService } from '../domain/mailbox-service.ts';
import type { MessageService } from '../domain/message-service.ts';
import type { Policy } from '../domain/policy.ts';

/** Named prompts built at build time, one folder per language (server/prompts/). */
export interface PromptSource {
  /**
   * The prompt's 8 kHz samples in the first language of `language`'s fallback chain that has
   * it (fr-CA > fr > en-US > en). Throws NOT_FOUND for a name no language has.
   */
  get(name: string, language: string): Int16Array;
  has(name: string, language: string): boolean;
}

/** Text to speech at run time (espeak-ng), for text a flow or a message header needs. */
export interface Speech {
  say(text: string, language: string): Promise<Int16Array>;
}

/** Minimal structured logger (pino's shape). */
export interface FlowLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** What call flows use besides the call itself. */
export interface FlowDeps {
  mailboxes: MailboxService;
  messages: MessageService;
  policy: Policy;
  prompts: PromptSource;
  speech: Speech;
  log: FlowLog;
  /** The server's default language, when neither the call nor the mailbox names one. */
  defaultLanguage: string;
  now(): number;
}
