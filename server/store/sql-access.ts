import type { StatementSync } from 'node:sqlite';
import { VoicegateError } from '../domain/errors.ts';
import type { MailboxChanges } from '../domain/mailbox.ts';
import type { Change, MailFolder, Message, NewMessage } from '../domain/message.ts';
import type { MessageState } from '../domain/message-state.ts';

/** What the store's tables share: prepared statements, write transactions, two helpers. */
export interface SqlAccess {
  sql(text: string): StatementSync;
  /** One write transaction; its journal entries reach the change feed after commit. */
  tx<T>(fn: () => T): T;
  /**
   * One write transaction shared with the others ready in the same turn of the event loop
   * (group-commit.ts); resolves once it is durable. The main thread does not wait for the disk
   * meanwhile: for writes on the way of a reply, such as a log-in's.
   */
  groupTx<T>(fn: () => T): Promise<T>;
  /** Of these audio keys, those no message, greeting or delivery refers to any more. */
  unusedAudio(keys: string[]): string[];
  insertMessage(m: NewMessage, at: number): Message;
  /**
   * Raises the mailbox's modseq and writes a journal entry; returns the modseq. `place` is where
   * the message is (added, changed) or was (removed).
   */
  journal(
    mailboxId: number,
    kind: Change['kind'],
    messageId: string | null,
    state: MessageState | null,
    at: number,
    place?: { folder: MailFolder; uid: number } | null,
    /** Shares the modseq of the entry before (a move: removed from one folder, added to the other). */
    modseq?: number,
  ): number;
}

export type SqlValue = string | number | null;

export const MAILBOX_COLUMNS: Record<keyof MailboxChanges, [string, (v: never) => SqlValue]> = {
  name: ['name', (v: string) => v],
  extension: ['extension', (v: string | null) => v],
  fullName: ['full_name', (v: string) => v],
  email: ['email', (v: string | null) => v],
  emailMode: ['email_mode', (v: string) => v],
  umsAccess: ['ums_access', (v: boolean) => (v ? 1 : 0)],
  locale: ['locale', (v: string) => v],
  timeZone: ['time_zone', (v: string) => v],
  trustedNumbers: ['trusted_numbers', (v: string[]) => JSON.stringify(v)],
  breakouts: ['breakouts', (v: object) => JSON.stringify(v)],
  broadcast: ['broadcast', (v: boolean) => (v ? 1 : 0)],
  activeGreeting: ['active_greeting', (v: string) => v],
};

/** Maps SQLite's errors to the domain's: a full disk, a unique key already taken. */
export function storeError(err: unknown): unknown {
  const e = err as { errcode?: number; message?: string };
  if (e.errcode === 13 || /database or disk is full/i.test(e.message ?? '')) {
    return new VoicegateError('STORAGE_FULL', 'no space left in the store', { cause: err });
  }
  const unique = /UNIQUE constraint failed: mailbox\.(\w+)/.exec(e.message ?? '');
  if (unique)
    return new VoicegateError('ALREADY_EXISTS', `a mailbox with this ${unique[1]} already exists`);
  if (e.errcode === 5)
    return new VoicegateError('UNAVAILABLE', 'the store is busy; try again', { cause: err });
  return err;
}
