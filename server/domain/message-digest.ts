import { createHash } from 'node:crypto';
import { MESSAGE_STATES } from './message-state.ts';
import type { VoicemailStore } from './ports.ts';

/**
 * The messages this server holds, as both sides of a central and its backup can compare them
 * (`voicegate topology digest`): per mailbox (by name), each voicemail by its identity, with
 * its state (and the state a deleted one came from). Ids, audio keys, folders and times differ
 * between servers and are left out; a purged message is absent.
 */
export interface MessageDigest {
  /** SHA-256 (hex) over the sorted lines `mailbox identity state deletedFrom`. */
  digest: string;
  messages: number;
  /** Per mailbox: how many messages, and how many wait (new). */
  mailboxes: { name: string; messages: number; new: number }[];
}

export async function messageDigest(
  store: Pick<VoicemailStore, 'listMailboxes' | 'listMessages'>,
): Promise<MessageDigest> {
  const lines: string[] = [];
  const mailboxes: MessageDigest['mailboxes'] = [];
  for (const mailbox of await store.listMailboxes()) {
    const messages = await store.listMessages(mailbox.id, { states: MESSAGE_STATES });
    for (const m of messages)
      lines.push(`${mailbox.name} ${m.identity} ${m.state} ${m.deletedFrom ?? '-'}`);
    mailboxes.push({
      name: mailbox.name,
      messages: messages.length,
      new: messages.filter((m) => m.state === 'new').length,
    });
  }
  lines.sort();
  mailboxes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const hash = createHash('sha256');
  for (const line of lines) hash.update(line + '\n');
  return { digest: hash.digest('hex'), messages: lines.length, mailboxes };
}
