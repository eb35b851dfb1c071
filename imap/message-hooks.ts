import { isVoicegateError } from '../server/domain/errors.ts';
import type { Message } from '../server/domain/message.ts';
import type { ImapDeps } from './deps.ts';
import { isWaiting } from '../server/domain/waiting.ts';
import { flagsOf, folderOfPath, planFlagChange, storedFlags } from './flags.ts';
import { parseFolderId } from './folder-id.ts';
import { imapHandler, type ImapSession } from './imap-core.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- imap-core's query and option objects */

/** FETCH items answered from the message record alone, without rendering it. */
const METADATA_ITEMS = new Set(['uid', 'flags', 'modseq', 'internaldate']);
/**
 * SEARCH terms that read the message's size, headers or body, by the names imap-core hands the
 * hook after its own mapping (LARGER and SMALLER become `size`, SENT* `date`, FROM, TO, CC, BCC and
 * SUBJECT `header`): the names a client sends never reach `options.terms`.
 */
const CONTENT_TERMS = new Set(['body', 'text', 'header', 'size', 'date']);

/** FETCH, SEARCH, STORE, EXPUNGE and MOVE: each maps to the domain operations every channel uses. */
export function messageHooks(deps: ImapDeps) {
  /** The selected folder's messages with the given UIDs (only those the session knows), by UID. */
  async function selected(
    folder: string,
    session: ImapSession,
    uids?: number[],
  ): Promise<Message[]> {
    const { mailboxId, folder: f } = parseFolderId(folder);
    // CLOSE expunges after imap-core has already cleared `selected`: then every UID counts.
    const known = session.selected ? new Set(session.selected.uidList) : null;
    const asked = uids ? new Set(uids) : null;
    const all = await deps.store.listMessages(mailboxId, { folder: f });
    return all
      .filter((m) => (!known || known.has(m.uid)) && (!asked || asked.has(m.uid)))
      .sort((a, b) => a.uid - b.uid);
  }

  function write(session: ImapSession, response: unknown): void {
    session.writeStream.write(response);
  }

  return {
    async onFetch(folder: string, options: any, session: ImapSession): Promise<unknown[]> {
      const { mailboxId, folder: f } = parseFolderId(folder);
      const withContent = (options.query as { item: string }[]).some(
        (q) => !METADATA_ITEMS.has(q.item),
      );
      let messages = await selected(folder, session, options.messages);
      if (options.changedSince) messages = messages.filter((m) => m.modseq > options.changedSince);
      // Audio streams of this FETCH, destroyed if the client goes away mid-response (imap-core
      // would otherwise leave them, and their open files, waiting for a socket that is gone).
      const streams = new Set<{ destroy(): void }>();
      const attachmentStorage = {
        get: deps.source.attachments.get,
        createReadStream: (
          ...args: Parameters<typeof deps.source.attachments.createReadStream>
        ) => {
          const stream = deps.source.attachments.createReadStream(...args);
          streams.add(stream);
          stream.once('close', () => streams.delete(stream));
          return stream;
        },
      };
      let gone = session.socket.destroyed;
      const onClose = (): void => {
        gone = true;
        for (const stream of streams) stream.destroy();
      };
      session.socket.once('close', onClose);
      try {
        for (let m of messages) {
          if (gone) break;
          if (options.markAsSeen && f === 'inbox' && isWaiting(m.state)) {
            // Reading a message in a mail client is playing it.
            m = await deps.messages.act(mailboxId, m.id, 'play');
            deps.notifier.ignore(mailboxId, m.modseq, session.id);
          }
          const view = await deps.source.view(m, withContent);
          const values = session.getQueryResponse(options.query, view, {
            acceptUTF8Enabled: session.isUTF8Enabled(),
            attachmentStorage,
          });
          const response = session.formatResponse('FETCH', m.uid, { query: options.query, values });
          if (options.metadataOnly) write(session, { compiled: imapHandler.compiler(response) });
          else
            await new Promise<void>((resolve) => {
              session.socket.once('close', resolve);
              session.writeStream.write(imapHandler.compileStream(response), () => {
                session.socket.off('close', resolve);
                resolve();
              });
            });
        }
      } finally {
        session.socket.off('close', onClose);
      }
      return [true];
    },

    async onSearch(folder: string, options: any, session: ImapSession): Promise<unknown[]> {
      const { mailboxId } = parseFolderId(folder);
      const withContent = (options.terms as string[]).some((t) => CONTENT_TERMS.has(t));
      const uidList: number[] = [];
      for (const m of await selected(folder, session)) {
        const view = await deps.source.view(m, withContent);
        const match = await new Promise<boolean>((resolve, reject) =>
          session.matchSearchQuery(view, options.query, (err, ok) =>
            err ? reject(err) : resolve(ok),
          ),
        );
        if (match) uidList.push(m.uid);
      }
      return [{ uidList, highestModseq: await deps.store.highestModseq(mailboxId) }];
    },

    async onStore(folder: string, update: any, session: ImapSession): Promise<unknown[]> {
      if (session.selected?.readOnly) return ['READ-ONLY'];
      const { mailboxId } = parseFolderId(folder);
      const condstore = Boolean(session.selected?.condstoreEnabled);
      const modified: number[] = [];
      for (let m of await selected(folder, session, update.messages)) {
        if (update.unchangedSince && m.modseq > update.unchangedSince) {
          modified.push(m.uid);
          continue;
        }
        const asked = askedFlags(flagsOf(m), update.action, update.value);
        const plan = planFlagChange(m, storedFlags(flagsOf(m), update.action, update.value));
        try {
          for (const action of plan.actions) {
            m = await deps.messages.act(mailboxId, m.id, action, { keepFolder: true });
            deps.notifier.ignore(mailboxId, m.modseq, session.id);
          }
          if (plan.purgeMark !== undefined) {
            m = await deps.messages.markForPurge(mailboxId, m.id, plan.purgeMark);
            deps.notifier.ignore(mailboxId, m.modseq, session.id);
          }
        } catch (err) {
          // Changed meanwhile by another channel: the client gets the flags as they now are.
          if (!isVoicegateError(err, 'INVALID_STATE') && !isVoicegateError(err, 'NOT_FOUND'))
            throw err;
          const now = await deps.store.getMessage(m.id);
          if (!now || now.uid !== m.uid || now.folder !== m.folder) continue;
          m = now;
        }
        // .SILENT spares only the flags the client asked for: flags the server set besides
        // (\Flagged is saved, which is \Seen too) or refused are news to it (RFC 3501 6.4.6).
        if (!update.silent || condstore || !sameFlags(flagsOf(m), asked)) {
          write(
            session,
            session.formatResponse('FETCH', m.uid, {
              uid: update.isUid ? m.uid : false,
              flags: flagsOf(m),
              modseq: condstore ? m.modseq : false,
            }),
          );
        }
      }
      return [true, modified];
    },

    async onExpunge(folder: string, update: any, session: ImapSession): Promise<unknown[]> {
      if (session.selected?.readOnly) return ['READ-ONLY'];
      const { mailboxId, folder: f } = parseFolderId(folder);
      const candidates = (
        await selected(folder, session, update.isUid ? update.messages : undefined)
      ).filter((m) => (f === 'inbox' ? m.state === 'deleted' : m.markedForPurge));
      if (candidates.length === 0) return [true];
      const since = await deps.store.highestModseq(mailboxId);
      if (f === 'inbox')
        await deps.messages.expunge(
          mailboxId,
          candidates.map((m) => m.id),
        );
      else
        await deps.messages.purge(
          mailboxId,
          candidates.map((m) => m.id),
          {
            channel: 'imap',
            principal: `mailbox:${session.user.username}`,
            client: session.remoteAddress,
          },
        );
      const gone = new Set(candidates.map((m) => m.id));
      const changes = await deps.store.changesSince(mailboxId, since);
      for (const c of changes)
        if (c.messageId && gone.has(c.messageId))
          deps.notifier.ignore(mailboxId, c.modseq, session.id);
      const removed = new Set(
        changes.filter((c) => c.kind === 'removed' && c.folder === f).map((c) => c.uid),
      );
      for (const m of candidates) {
        if (removed.has(m.uid) && !update.silent)
          write(session, session.formatResponse('EXPUNGE', m.uid));
      }
      return [true];
    },

    async onMove(folder: string, move: any, session: ImapSession): Promise<unknown[]> {
      if (session.selected?.readOnly) return ['READ-ONLY'];
      const { mailboxId, folder: from } = parseFolderId(folder);
      const to = folderOfPath(move.destination);
      if (!to) return ['TRYCREATE'];
      if (to === from) return ['CANNOT'];
      const sourceUid: number[] = [];
      const destinationUid: number[] = [];
      for (const m of await selected(folder, session, move.messages)) {
        let moved: Message | undefined;
        if (to === 'trash') {
          moved =
            m.state === 'deleted'
              ? (await deps.messages.expunge(mailboxId, [m.id]))[0]
              : await deps.messages.act(mailboxId, m.id, 'delete');
        } else {
          moved = await deps.messages.act(mailboxId, m.id, 'undelete');
        }
        if (!moved || moved.folder !== to) continue;
        deps.notifier.ignore(mailboxId, moved.modseq, session.id);
        sourceUid.push(m.uid);
        destinationUid.push(moved.uid);
        write(session, session.formatResponse('EXPUNGE', m.uid));
      }
      // No message moved: a COPYUID with empty sets would be malformed.
      if (sourceUid.length === 0) return ['NONEXISTENT'];
      const snapshot = await deps.store.folderSnapshot(mailboxId, to);
      return [true, { uidValidity: snapshot.uidValidity, sourceUid, destinationUid }];
    },
  };
}

/** The flags a STORE asks the message to have, keywords included (they are not kept). */
function askedFlags(
  current: string[],
  action: 'set' | 'add' | 'remove',
  value: string[],
): string[] {
  const lower = (f: string): string => f.toLowerCase();
  const named = new Set(value.map(lower));
  if (action === 'set') return value;
  if (action === 'remove') return current.filter((f) => !named.has(lower(f)));
  return [...current, ...value.filter((f) => !current.some((c) => lower(c) === lower(f)))];
}

function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(a.map((f) => f.toLowerCase()));
  const other = new Set(b.map((f) => f.toLowerCase()));
  return set.size === other.size && [...other].every((f) => set.has(f));
}
