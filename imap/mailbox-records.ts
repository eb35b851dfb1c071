import { MAIL_FOLDERS, type MailFolder } from '../server/domain/message.ts';
import { folderId } from './folder-id.ts';

/** What every session of one mailbox holds alike: its user and the ids of its folders. */
export interface MailboxRecord {
  readonly user: Readonly<{ id: number; username: string }>;
  readonly folderIds: Readonly<Record<MailFolder, string>>;
}

/**
 * One record per mailbox logged in, shared by all its sessions: thousands of idle sessions on a
 * few hundred mailboxes would otherwise each keep their own user object, name and folder id
 * string (about 90 bytes a session). A mailbox's record is made again when its name changes;
 * records stay for the server's life, one per mailbox that has logged in since the start.
 */
export class MailboxRecords {
  readonly #records = new Map<number, MailboxRecord>();

  of(id: number, username: string): MailboxRecord {
    const known = this.#records.get(id);
    if (known && known.user.username === username) return known;
    const record: MailboxRecord = Object.freeze({
      user: Object.freeze({ id, username }),
      folderIds: Object.freeze(
        Object.fromEntries(MAIL_FOLDERS.map((f) => [f, folderId(id, f)])) as Record<
          MailFolder,
          string
        >,
      ),
    });
    this.#records.set(id, record);
    return record;
  }

  /** The folder's id, the one string shared by its sessions when the mailbox has a record. */
  folderId(id: number, folder: MailFolder): string {
    return this.#records.get(id)?.folderIds[folder] ?? folderId(id, folder);
  }
}
