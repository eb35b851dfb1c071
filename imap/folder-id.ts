import type { MailFolder } from '../server/domain/message.ts';

/** imap-core identifies a selected folder by one value: "<mailbox id>/<folder>". */
export function folderId(mailboxId: number, folder: MailFolder): string {
  return `${mailboxId}/${folder}`;
}

export function parseFolderId(id: string): { mailboxId: number; folder: MailFolder } {
  const [mailbox, folder] = id.split('/');
  return { mailboxId: Number(mailbox), folder: folder as MailFolder };
}
