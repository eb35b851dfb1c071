import type { GreetingKind } from './mailbox.ts';
import type { LiveState, MessageState } from './message-state.ts';
import type { PlaybackOrder } from './policy.ts';

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
  id: string;
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
}

export type NewMessage = Omit<Message, 'state' | 'deletedFrom' | 'stateChangedAt' | 'modseq'>;

export interface Greeting {
  mailboxId: number;
  kind: GreetingKind;
  audio: AudioRef;
  updatedAt: number;
}

/** One entry of a mailbox's change journal. `seq` rises across all mailboxes. */
export interface Change {
  seq: number;
  mailboxId: number;
  modseq: number;
  kind: 'added' | 'changed' | 'removed' | 'mailbox';
  messageId: string | null;
  state: MessageState | null;
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
