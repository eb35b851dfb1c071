import type { Call } from '../call.ts';
import type { FlowDeps } from '../flow-deps.ts';
import type { Mailbox } from '../../domain/mailbox.ts';
import type { Prompter } from './prompter.ts';

/** An owner's logged-in call: who, and what this call did that later keys refer to. */
export interface Session {
  call: Call;
  deps: FlowDeps;
  p: Prompter;
  mailbox: Mailbox;
  /** Ids deleted during this call, last one last: key 8 undeletes them in turn. */
  deleted: string[];
}
