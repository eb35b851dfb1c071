import type { MailboxService } from '../domain/mailbox-service.ts';
import type { MessageService } from '../domain/message-service.ts';
import type { Policy } from '../domain/policy.ts';
import type { EmailReader } from '../domain/email-reading.ts';
import type { PromptSource, Speech } from '../prompts/ports.ts';

export type { PromptSource, Speech };

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
  /** Owners' e-mail read by phone; absent, no mailbox reads e-mail. */
  emailReader?: EmailReader;
}
