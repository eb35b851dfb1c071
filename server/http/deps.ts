import type { Observe } from '../domain/observe.ts';
import type { Mailbox } from '../domain/mailbox.ts';
import type { MailboxService } from '../domain/mailbox-service.ts';
import type { MessageService } from '../domain/message-service.ts';
import type { AudioStore, VoicemailStore } from '../domain/ports.ts';
import type { WebSessions } from './session.ts';
import type { Static } from '@sinclair/typebox';
import type { AdminService } from '../domain/admin-service.ts';
import type { DeliveryService } from '../domain/delivery-service.ts';
import type { TopologyReply } from './admin-schemas.ts';
import type { MailboxSettingsService } from '../domain/mailbox-settings-service.ts';
import type { FlowsCheck, FlowsReply, FullStatusReply } from './admin-settings-schemas.ts';

/** What /api/admin uses besides the web API's deps. */
export interface AdminApiDeps {
  admins: AdminService;
  deliveries: DeliveryService;
  /** Every setting of a mailbox (home, phone, e-mail reading, members, greetings), audited. */
  mailboxSettings: MailboxSettingsService;
  /** The status page: built by the composition root, which knows the running parts. */
  status(): Promise<Static<typeof FullStatusReply>>;
  /** The other servers of the network (`voicegate topology status`); absent on a standalone. */
  topology?(): Promise<Static<typeof TopologyReply>>;
  /** On a backup: hand control back to a returned central; returns the state after. */
  failback?(): Promise<string>;
  /** The call flows file: the one in use, and checking it or a text (the composition root's). */
  flows: AdminFlows;
}

export interface AdminFlows {
  current(): Promise<Static<typeof FlowsReply>>;
  /** Checks a flows file's text against the mailboxes, prompts and access numbers of now. */
  check(text: string): Promise<Static<typeof FlowsCheck>>;
}

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
  /** The administrators' API (/api/admin); absent, it is not served. */
  admin?: AdminApiDeps;
}

/** Whether the user's phone can be rung now, and if not why (see telephony/play-on-phone.ts). */
export type PhoneReach =
  | { reachable: true; number: string }
  | {
      reachable: false;
      number: string | null;
      reason: 'no-number' | 'not-allowed' | 'no-phone' | 'no-telephony';
    };

export interface PhoneDialer {
  /** Whether `playOnPhone` could ring the mailbox's extension now; asks, never calls. */
  reach?(mailbox: Mailbox): Promise<PhoneReach>;
  /** Calls `to` (default: the mailbox's extension) and plays the message; resolves once it rings. */
  playOnPhone(mailbox: Mailbox, messageId: string, to?: string): Promise<{ callId: string }>;
}
