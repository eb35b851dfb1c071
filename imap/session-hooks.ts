import { isVoicegateError } from '../server/domain/errors.ts';
import { MAIL_FOLDERS, type MailFolder } from '../server/domain/message.ts';
import type { ImapDeps } from './deps.ts';
import { wasWaiting } from '../server/domain/waiting.ts';
import { FOLDER_PATHS, folderOfPath } from './flags.ts';
import type { ImapSession } from './imap-core.ts';
import { MailboxRecords } from './mailbox-records.ts';
import { IMAP_REPLY, imapResponseCode, isInternal } from './replies.ts';

/** Rough size of a message as IMAP shows it: the audio in base64 plus headers and text parts. */
function mailSize(audioBytes: number): number {
  return Math.ceil(audioBytes / 57) * 78 + 4096;
}

/** Login, folders, STATUS, SELECT and QUOTA: what a session does before touching messages. */
export function sessionHooks(deps: ImapDeps) {
  const folderOf = (path: string): MailFolder | null => folderOfPath(path);
  const records = new MailboxRecords();

  return {
    async onAuth(
      login: { method: string; username: string; password: string },
      session: ImapSession,
    ): Promise<unknown[]> {
      // LOGIN replies carry the response code; AUTHENTICATE's path in imap-core drops it, so
      // there it goes into the text. A refusal other than a wrong code or a mailbox without
      // IMAP access keeps its cause, for the log.
      const refusal = (code: string, text: string, cause?: unknown): Error =>
        Object.assign(new Error(text, { cause }), {
          response: 'NO',
          ...(login.method === 'LOGIN'
            ? { code, message: text }
            : { message: `[${code}] ${text}` }),
        });
      try {
        const mailbox = await deps.mailboxes.authenticate(login.username, login.password, {
          channel: 'imap',
          remote: session.remoteAddress,
          requireUms: true,
        });
        return [{ user: records.of(mailbox.id, mailbox.name).user }];
      } catch (err) {
        // Unknown, wrong, locked or too many tries from this address: one answer for all.
        if (isVoicegateError(err, 'AUTH_FAILED')) {
          throw refusal(
            IMAP_REPLY.AUTH_FAILED,
            'Wrong mailbox or code; after repeated wrong codes, log-ins are refused for a while',
          );
        }
        if (isVoicegateError(err, 'FORBIDDEN')) {
          throw refusal('AUTHORIZATIONFAILED', 'This mailbox has no access from mail clients');
        }
        const text = isInternal(err) ? 'Internal error' : (err as Error).message;
        throw refusal(imapResponseCode(err), text, err);
      }
    },

    async onList(): Promise<unknown[]> {
      return [[{ path: 'INBOX' }, { path: FOLDER_PATHS.trash, specialUse: '\\Trash' }]];
    },

    async onSubscribe(path: string): Promise<unknown[]> {
      return [folderOf(path) ? true : 'NONEXISTENT'];
    },

    async onStatus(path: string, session: ImapSession): Promise<unknown[]> {
      const folder = folderOf(path);
      if (!folder) return ['NONEXISTENT'];
      const snapshot = await deps.store.folderSnapshot(session.user.id, folder);
      const messages = await deps.store.listMessages(session.user.id, { folder });
      return [
        {
          messages: snapshot.uids.length,
          uidNext: snapshot.uidNext,
          uidValidity: snapshot.uidValidity,
          unseen: messages.filter(wasWaiting).length,
          highestModseq: snapshot.modseq,
        },
      ];
    },

    async onOpen(path: string, session: ImapSession): Promise<unknown[]> {
      const folder = folderOf(path);
      if (!folder) return ['NONEXISTENT'];
      const snapshot = await deps.store.folderSnapshot(session.user.id, folder);
      return [
        {
          _id: records.folderId(session.user.id, folder),
          uidList: snapshot.uids,
          uidValidity: snapshot.uidValidity,
          uidNext: snapshot.uidNext,
          modifyIndex: snapshot.modseq,
        },
      ];
    },

    async onGetQuotaRoot(path: string, session: ImapSession): Promise<unknown[]> {
      if (!folderOf(path)) return ['NONEXISTENT'];
      return [await quota(session)];
    },

    async onGetQuota(root: string, session: ImapSession): Promise<unknown[]> {
      if (root !== '') return ['NONEXISTENT'];
      return [await quota(session)];
    },
  };

  async function quota(
    session: ImapSession,
  ): Promise<{ root: string; quota: number; storageUsed: number }> {
    let used = 0;
    for (const folder of MAIL_FOLDERS) {
      for (const m of await deps.store.listMessages(session.user.id, { folder }))
        used += mailSize(m.audio.bytes);
    }
    return { root: '', quota: deps.quotaBytes, storageUsed: used };
  }
}
