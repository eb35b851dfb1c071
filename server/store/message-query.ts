import { VoicegateError } from '../domain/errors.ts';
import type { Message } from '../domain/message.ts';
import type {
  MessageCursor,
  MessageOrder,
  MessagePage,
  MessageQuery,
  StateChange,
} from '../domain/ports.ts';
import { rowToMessage, type MessageRow } from './rows.ts';
import type { SqlAccess, SqlValue } from './sql-access.ts';

/**
 * Each order is one index read in one direction (migration 9): newest and oldest read
 * message_in_order (mailbox, received_at, id) backwards or forwards; priority reads
 * message_by_priority. A cursor continues strictly after the last row of the previous page.
 */
const ORDERS: Record<
  MessageOrder,
  { by: string; after: string; keys: (c: MessageCursor) => SqlValue[] }
> = {
  newest: {
    by: 'received_at DESC, id DESC',
    after: '(received_at, id) < (?, ?)',
    keys: (c) => [c.receivedAt, c.id],
  },
  oldest: {
    by: 'received_at, id',
    after: '(received_at, id) > (?, ?)',
    keys: (c) => [c.receivedAt, c.id],
  },
  // 'high' sorts before 'normal'.
  priority: {
    by: 'priority, received_at DESC, id DESC',
    after: '(priority > ? OR (priority = ? AND (received_at, id) < (?, ?)))',
    keys: (c) => [c.priority, c.priority, c.receivedAt, c.id],
  },
};

/** Fewer characters than a trigram: matched by LIKE over the mailbox's messages instead. */
const TRIGRAM = 3;

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The criteria of `query` except its cursor, as SQL and its values. */
function criteria(mailboxId: number, q: MessageQuery): { where: string; values: SqlValue[] } {
  if (q.states.length === 0) throw new VoicegateError('INVALID_INPUT', 'no states to list');
  const where = [`mailbox_id = ?`, `state IN (${q.states.map(() => '?').join(',')})`];
  const values: SqlValue[] = [mailboxId, ...q.states];
  if (q.from !== undefined) {
    where.push('received_at >= ?');
    values.push(q.from);
  }
  if (q.to !== undefined) {
    where.push('received_at < ?');
    values.push(q.to);
  }
  if (q.priority !== undefined) {
    where.push('priority = ?');
    values.push(q.priority);
  }
  if (q.private !== undefined) {
    where.push('private = ?');
    values.push(q.private ? 1 : 0);
  }
  const caller = q.caller?.trim();
  if (caller) {
    if ([...caller].length >= TRIGRAM) {
      where.push('rowid IN (SELECT rowid FROM message_caller WHERE message_caller MATCH ?)');
      values.push(`"${caller.replace(/"/g, '""')}"`);
    } else {
      where.push(`(caller_name LIKE ? ESCAPE '\\' OR caller_number LIKE ? ESCAPE '\\')`);
      values.push(likePattern(caller), likePattern(caller));
    }
  }
  return { where: where.join(' AND '), values };
}

export function queryMessages(db: SqlAccess, mailboxId: number, q: MessageQuery): MessagePage {
  if (!Number.isInteger(q.limit) || q.limit < 1)
    throw new VoicegateError('INVALID_INPUT', 'a page holds at least one message');
  const order = ORDERS[q.order];
  const { where, values } = criteria(mailboxId, q);
  const total =
    q.total ??
    (db.sql(`SELECT COUNT(*) AS n FROM message WHERE ${where}`).get(...values) as { n: number }).n;
  const page = q.after
    ? { where: `${where} AND ${order.after}`, values: [...values, ...order.keys(q.after)] }
    : { where, values };
  const rows = db
    .sql(`SELECT * FROM message WHERE ${page.where} ORDER BY ${order.by} LIMIT ?`)
    .all(...page.values, q.limit + 1) as unknown as MessageRow[];
  const messages = rows.slice(0, q.limit).map(rowToMessage);
  const last = messages.at(-1);
  const next =
    rows.length > q.limit && last
      ? { receivedAt: last.receivedAt, id: last.id, priority: last.priority }
      : null;
  return { messages, next, total };
}

/**
 * Checks every change against the stored state before writing any, inside the caller's write
 * transaction: all are applied, or none (null).
 */
export function setStates(
  db: SqlAccess,
  changes: readonly StateChange[],
  apply: (change: StateChange) => Message,
): Message[] | null {
  const current = db.sql('SELECT state, deleted_from FROM message WHERE id = ?');
  for (const c of changes) {
    const row = current.get(c.id) as { state: string; deleted_from: string | null } | undefined;
    if (!row || row.state !== c.from.state || row.deleted_from !== c.from.deletedFrom) return null;
  }
  return changes.map(apply);
}
