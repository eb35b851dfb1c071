import type { MailboxService } from '../server/domain/mailbox-service.ts';
import type { MessageService } from '../server/domain/message-service.ts';
import type { VoicemailStore } from '../server/domain/ports.ts';
import type { ImapSession } from './imap-core.ts';
import type { MessageSource } from './message-source.ts';
import type { ImapNotifier } from './notifier.ts';

export interface ImapLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ImapDeps {
  mailboxes: MailboxService;
  messages: MessageService;
  store: VoicemailStore;
  source: MessageSource;
  notifier: ImapNotifier;
  quotaBytes: number;
  log: ImapLogger;
  /** The session's child logger (`{cid, proto, mailbox}`); `log` itself without a session. */
  sessionLog(session: ImapSession | undefined): ImapLogger;
}
