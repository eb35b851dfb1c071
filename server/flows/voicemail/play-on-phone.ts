/**
 * "Play on my phone": the server called the owner's own phone (the telephony layer checked
 * the number); this plays one message with its header and the usual message keys.
 */
import { publicMailbox } from '../../domain/mailbox.ts';
import type { Call } from '../call.ts';
import type { FlowDeps } from '../flow-deps.ts';
import { reviewMessage } from './message-menu.ts';
import { Prompter, untilHangUp } from './prompter.ts';

export async function playMessageOnPhone(
  call: Call,
  deps: FlowDeps,
  mailboxRef: string,
  messageId: string,
  opts: { language: string },
): Promise<void> {
  const mailbox = publicMailbox(await deps.mailboxes.resolve(mailboxRef));
  const message = await deps.messages.get(mailbox.id, messageId);
  const p = new Prompter(call, deps, opts.language);
  await untilHangUp(
    async () => {
      const outcome = await reviewMessage({ call, deps, p, mailbox, deleted: [] }, message);
      if (outcome !== 'ended') await p.goodbye();
    },
    () => undefined,
  );
}
