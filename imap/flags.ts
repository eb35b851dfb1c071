import type { MailFolder, Message } from '../server/domain/message.ts';
import type { MessageAction } from '../server/domain/message-state.ts';
import { wasWaiting } from '../server/domain/waiting.ts';

/**
 * DESIGN.md's mapping between voicemail states and IMAP flags: no \Seen = new, \Seen = old,
 * \Flagged = saved, \Deleted in INBOX = deleted (in Trash: marked for purging).
 */
export const SEEN = '\\Seen';
export const FLAGGED = '\\Flagged';
export const DELETED = '\\Deleted';
export const PERMANENT_FLAGS = [SEEN, FLAGGED, DELETED];

export const FOLDER_PATHS: Record<MailFolder, string> = { inbox: 'INBOX', trash: 'Trash' };

export function folderOfPath(path: string): MailFolder | null {
  if (path.toUpperCase() === 'INBOX') return 'inbox';
  if (path === 'Trash') return 'trash';
  return null;
}

export function flagsOf(
  m: Pick<Message, 'state' | 'deletedFrom' | 'folder' | 'markedForPurge'>,
): string[] {
  const base = m.state === 'deleted' ? m.deletedFrom : m.state;
  const flags: string[] = [];
  // \Seen is the lamp's rule seen from IMAP: a message waiting for its owner is unseen.
  if (!wasWaiting(m)) flags.push(SEEN);
  if (base === 'saved') flags.push(FLAGGED);
  if (m.folder === 'inbox' ? m.state === 'deleted' : m.markedForPurge) flags.push(DELETED);
  return flags;
}

/** The flags a STORE asks for, from the current ones. */
export function storedFlags(
  current: string[],
  action: 'set' | 'add' | 'remove',
  value: string[],
): Set<string> {
  const known = new Set(value.filter((f) => PERMANENT_FLAGS.includes(f)));
  if (action === 'set') return known;
  const next = new Set(current);
  for (const f of known) {
    if (action === 'add') next.add(f);
    else next.delete(f);
  }
  return next;
}

export interface FlagPlan {
  /** Domain actions in order; `keepFolder` on delete (IMAP keeps it until EXPUNGE). */
  actions: MessageAction[];
  /** Trash only: set or clear the purge mark. */
  purgeMark?: boolean;
}

/** Which domain operations turn a message's flags into `wanted`. */
export function planFlagChange(m: Message, wanted: Set<string>): FlagPlan {
  if (m.folder === 'trash') {
    // A message in the trash keeps the state it was deleted from; only \Deleted means something.
    return wanted.has(DELETED) !== m.markedForPurge
      ? { actions: [], purgeMark: wanted.has(DELETED) }
      : { actions: [] };
  }
  const actions: MessageAction[] = [];
  const isDeleted = m.state === 'deleted';
  if (isDeleted && !wanted.has(DELETED)) actions.push('undelete');
  if (isDeleted && wanted.has(DELETED)) return { actions };
  const base = isDeleted ? m.deletedFrom! : m.state;
  if (wanted.has(FLAGGED)) {
    if (base !== 'saved') actions.push('save');
  } else if (wanted.has(SEEN)) {
    if (base === 'saved') actions.push('unsave');
    else if (base !== 'old') actions.push('play');
  } else if (base === 'old' || base === 'saved') {
    actions.push('markUnread');
  }
  if (!isDeleted && wanted.has(DELETED)) actions.push('delete');
  return { actions };
}
