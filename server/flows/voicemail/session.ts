import type { Call } from '../call.ts';
import type { FlowDeps } from '../flow-deps.ts';
import type { Mailbox } from '../../domain/mailbox.ts';
import type { Prompter } from './prompter.ts';
import type { InboxResult } from '../../domain/email-reading.ts';

/** An owner's logged-in call: who, and what this call did that later keys refer to. */
export interface Session {
  call: Call;
  deps: FlowDeps;
  p: Prompter;
  mailbox: Mailbox;
  /** Ids deleted during this call, last one last: key 8 undeletes them in turn. */
  deleted: string[];
  /** The owner's e-mail, when the mailbox reads it (and it has not failed during the call). */
  email?: EmailSession | null;
}

/** The owner's e-mail during one call: whether it is read at all, and the inbox being opened. */
export interface EmailSession {
  on: boolean;
  inbox: Promise<InboxResult | null> | null;
}
