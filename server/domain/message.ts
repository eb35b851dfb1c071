import type { VoicemailIdentity } from './identity.ts';
import type { GreetingKind } from './mailbox.ts';
import type { LiveState, MessageState } from './message-state.ts';
import type { PlaybackOrder } from './policy.ts';

/**
 * Where a message is, for channels with folders (IMAP): live messages are in the inbox; a
 * deleted one moves to the trash, except that IMAP's \Deleted flag keeps it in the inbox
 * until EXPUNGE. Each folder numbers its messages with rising UIDs.
 */
export const MAIL_FOLDERS = ['inbox', 'trash'] as const;
export type MailFolder = (typeof MAIL_FOLDERS)[number];

export const MESSAGE_KINDS = ['message', 'recording'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];
export type Priority = 'normal' | 'high';

/** How the audio of a message or greeting is kept; the bytes live in the audio store. */
export interface AudioRef {
  key: string;
  /** e.g. `wav/pcm16/8000`, `wav/mulaw/8000`. */
  format: string;
  bytes: number;
  durationMs: number;
}

export interface Message {
  /** This store's key for the message (one per mailbox it is in): URLs, IMAP, the journal. */
  id: string;
  /**
   * The voicemail's global identity (`identity.ts`), its MIME Message-ID: shared by every copy
   * of it (each member of a broadcast group, its e-mail, a peer's copy); a mailbox holds a
   * voicemail once.
   */
  identity: VoicemailIdentity;
  mailboxId: number;
  kind: MessageKind;
  callerNumber: string | null;
  callerName: string | null;
  /** UTC milliseconds; shown in the mailbox's time zone. */
  receivedAt: number;
  audio: AudioRef;
  state: MessageState;
  deletedFrom: LiveState | null;
  stateChangedAt: number;
  priority: Priority;
  private: boolean;
  /** The server that recorded it (several-server networks). */
  originServer: string;
  /** Name of the mailbox it was forwarded from, if any. */
  forwardedFrom: string | null;
  /** Modification sequence of the last change (IMAP CONDSTORE). */
  modseq: number;
  folder: MailFolder;
  /** Rises within the folder; never reused while the mailbox's UIDVALIDITY stands. */
  uid: number;
  /** In the trash with IMAP's \Deleted flag: the next EXPUNGE there purges it. */
  markedForPurge: boolean;
  /**
   * The last permanent refusal of this message's e-mail, as the remote server said it; null if
   * none. Untrusted text: show it escaped.
   */
  emailError: string | null;
}

export type NewMessage = Omit<
  Message,
  | 'state'
  | 'deletedFrom'
  | 'stateChangedAt'
  | 'modseq'
  | 'folder'
  | 'uid'
  | 'markedForPurge'
  | 'emailError'
>;

/** The folder a message belongs in after a change to `state`. */
export function folderAfter(
  current: MailFolder,
  state: MessageState,
  keepFolder = false,
): MailFolder {
  if (state === 'deleted') return keepFolder ? current : 'trash';
  return 'inbox';
}

/** A folder's UIDs and counters, read at one moment (IMAP SELECT). */
export interface FolderSnapshot {
  uids: number[];
  uidValidity: number;
  uidNext: number;
  modseq: number;
}

export interface Greeting {
  mailboxId: number;
  kind: GreetingKind;
  audio: AudioRef;
  updatedAt: number;
}

/**
 * One entry of a mailbox's change journal. `modseq` orders a mailbox's changes; `seq` only
 * names the entry (its order across mailboxes is no part of the store's contract).
 */
export interface Change {
  seq: number;
  mailboxId: number;
  modseq: number;
  kind: 'added' | 'changed' | 'removed' | 'mailbox';
  messageId: string | null;
  state: MessageState | null;
  /** Where the message is (added, changed) or was (removed); null for mailbox changes. */
  folder: MailFolder | null;
  uid: number | null;
  at: number;
}

export function sortForPlayback<T extends Pick<Message, 'receivedAt' | 'id'>>(
  messages: T[],
  order: PlaybackOrder,
): T[] {
  const sign = order === 'fifo' ? 1 : -1;
  return [...messages].sort(
    (a, b) => sign * (a.receivedAt - b.receivedAt) || a.id.localeCompare(b.id),
  );
}

/** Caller shown to users: "Name (number)", the number alone, or "Unknown caller". */
export function callerLabel(m: Pick<Message, 'callerName' | 'callerNumber'>): string {
  if (m.callerName && m.callerNumber) return `${m.callerName} (${m.callerNumber})`;
  return m.callerName || m.callerNumber || 'Unknown caller';
}
