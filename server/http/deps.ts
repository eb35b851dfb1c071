import type { Observe } from '../domain/observe.ts';
import type { Mailbox } from '../domain/mailbox.ts';
import type { MailboxService } from '../domain/mailbox-service.ts';
import type { MessageService } from '../domain/message-service.ts';
import type { AudioStore, VoicemailStore } from '../domain/ports.ts';
import type { WebSessions } from './session.ts';

/** What the web API's routes use. */
export interface ApiDeps {
  mailboxes: MailboxService;
  messages: MessageService;
  store: VoicemailStore;
  audio: AudioStore;
  sessions: WebSessions;
  /** Which converters are installed (greeting uploads in other formats). */
  tools: { ffmpeg: boolean; sox: boolean };
  /** Rings the user's phone and plays a message there; absent when the phone part is off. */
  phone?: PhoneDialer;
  /** Told when an event stream opens and closes (the SSE clients metric). */
  observe?: Observe;
}

export interface PhoneDialer {
  /** Calls `to` (default: the mailbox's extension) and plays the message; resolves once it rings. */
  playOnPhone(mailbox: Mailbox, messageId: string, to?: string): Promise<{ callId: string }>;
}
