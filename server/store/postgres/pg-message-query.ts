import { VoicegateError } from '../../domain/errors.ts';
import type { MessageCursor, MessageOrder, MessagePage, MessageQuery } from '../../domain/ports.ts';
import { rowToMessage, type MessageRow } from '../rows.ts';
import type { Sql } from './pg-access.ts';

/**
 * The web list's searches, as the embedded message-query.ts answers them. Each order is one
 * index read in one direction (migration 3): newest and oldest read message_in_order backwards
 * or forwards, priority reads message_by_priority; ids and priorities compare bytewise, as
 * SQLite's do. A cursor continues strictly after the last row of the previous page. `$n` is
 * the cursor's first parameter.
 */
const ORDERS: Record<
  MessageOrder,
  { by: string; after: (n: number) => string; keys: (c: MessageCursor) => unknown[] }
> = {
  newest: {
    by: 'received_at DESC, id COLLATE "C" DESC',
    after: (n) => `(received_at, id COLLATE "C") < ($${n}::bigint, $${n + 1}::text)`,
    keys: (c) => [c.receivedAt, c.id],
  },
  oldest: {
    by: 'received_at, id COLLATE "C"',
    after: (n) => `(received_at, id COLLATE "C") > ($${n}::bigint, $${n + 1}::text)`,
    keys: (c) => [c.receivedAt, c.id],
  },
  // 'high' sorts before 'normal'.
  priority: {
    by: 'priority COLLATE "C", received_at DESC, id COLLATE "C" DESC',
    after: (n) =>
      `(priority COLLATE "C" > $${n}::text OR (priority = $${n}::text AND ` +
      `(received_at, id COLLATE "C") < ($${n + 1}::bigint, $${n + 2}::text)))`,
    keys: (c) => [c.priority, c.receivedAt, c.id],
  },
};

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The criteria of `query` except its cursor, as SQL and its values ($1, $2, ...). */
function criteria(mailboxId: number, q: MessageQuery): { where: string; values: unknown[] } {
  if (q.states.length === 0) throw new VoicegateError('INVALID_INPUT', 'no states to list');
  const values: unknown[] = [mailboxId, [...q.states]];
  const where = ['mailbox_id = $1', 'state = ANY($2::text[])'];
  const add = (sql: (n: number) => string, value: unknown): void => {
    values.push(value);
    where.push(sql(values.length));
  };
  if (q.from !== undefined) add((n) => `received_at >= $${n}`, q.from);
  if (q.to !== undefined) add((n) => `received_at < $${n}`, q.to);
  if (q.priority !== undefined) add((n) => `priority = $${n}`, q.priority);
  if (q.private !== undefined) add((n) => `private = $${n}`, q.private ? 1 : 0);
  const caller = q.caller?.trim();
  // pg_trgm's indexes answer ILIKE of 3 characters or more; a shorter one reads the mailbox's
  // rows, as the embedded store's LIKE does.
  if (caller)
    add((n) => `(caller_name ILIKE $${n} OR caller_number ILIKE $${n})`, likePattern(caller));
  return { where: where.join(' AND '), values };
}

/** A statement and its values. */
export interface Statement {
  text: string;
  values: unknown[];
}

/** The two statements of a page: its total, and its rows (one more than asked: is there more?). */
export function pageStatements(
  mailboxId: number,
  q: MessageQuery,
): { count: Statement; page: Statement } {
  if (!Number.isInteger(q.limit) || q.limit < 1)
    throw new VoicegateError('INVALID_INPUT', 'a page holds at least one message');
  const order = ORDERS[q.order];
  const { where, values } = criteria(mailboxId, q);
  const page = q.after
    ? {
        where: `${where} AND ${order.after(values.length + 1)}`,
        values: [...values, ...order.keys(q.after)],
      }
    : { where, values };
  return {
    count: { text: `SELECT COUNT(*)::int AS n FROM message WHERE ${where}`, values },
    page: {
      text: `SELECT * FROM message WHERE ${page.where} ORDER BY ${order.by} LIMIT $${page.values.length + 1}`,
      values: [...page.values, q.limit + 1],
    },
  };
}

export async function queryMessages(
  sql: Sql,
  mailboxId: number,
  q: MessageQuery,
): Promise<MessagePage> {
  const { count, page } = pageStatements(mailboxId, q);
  const total = q.total ?? (await sql.row<{ n: number }>(count.text, count.values))!.n;
  const rows = await sql.rows<MessageRow>(page.text, page.values);
  const messages = rows.slice(0, q.limit).map(rowToMessage);
  const last = messages.at(-1);
  const next =
    rows.length > q.limit && last
      ? { receivedAt: last.receivedAt, id: last.id, priority: last.priority }
      : null;
  return { messages, next, total };
}
