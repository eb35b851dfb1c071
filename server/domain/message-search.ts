import { VoicegateError } from './errors.ts';
import type { Priority } from './message.ts';
import { LIVE_STATES, type MessageState } from './message-state.ts';
import type { MessageCursor, MessageOrder, MessageQuery } from './ports.ts';
import { localDayStart } from './time.ts';

/** What a user lists: the inbox (live messages) or the deleted ones, wherever IMAP keeps them. */
export type MessageView = 'inbox' | 'deleted';

/** The states a user tells apart: "new" covers a header heard (unopened), "played" is old. */
export const STATE_FILTERS = {
  new: ['new', 'unopened'],
  played: ['old'],
  saved: ['saved'],
} as const satisfies Record<string, readonly MessageState[]>;
export type StateFilter = keyof typeof STATE_FILTERS;

/** A user's search of one view, as every channel states it; dates are local days. */
export interface MessageSearch {
  view: MessageView;
  order?: MessageOrder;
  caller?: string;
  /** First local day (YYYY-MM-DD, in the mailbox's zone), included. */
  fromDay?: string;
  /** Last local day, included. */
  toDay?: string;
  /** Inbox only: the deleted view lists deleted messages whatever they were. */
  state?: StateFilter;
  priority?: Priority;
  private?: boolean;
  after?: MessageCursor;
  limit: number;
}

export const MAX_PAGE = 200;

function day(value: string, timeZone: string, name: string): number {
  const at = localDayStart(value, timeZone);
  if (at === null) throw new VoicegateError('INVALID_INPUT', `${name} is not a date (YYYY-MM-DD)`);
  return at;
}

/** The store query a search stands for, in the mailbox's time zone. */
export function toQuery(search: MessageSearch, timeZone: string): MessageQuery {
  const states: readonly MessageState[] =
    search.view === 'deleted'
      ? ['deleted']
      : search.state
        ? STATE_FILTERS[search.state]
        : LIVE_STATES;
  const query: MessageQuery = {
    states,
    order: search.order ?? 'newest',
    limit: Math.min(Math.max(1, Math.floor(search.limit)), MAX_PAGE),
  };
  if (search.caller?.trim()) query.caller = search.caller.trim().slice(0, 64);
  if (search.fromDay) query.from = day(search.fromDay, timeZone, 'from');
  if (search.toDay) {
    // The end of the last day is the start of the one after it.
    day(search.toDay, timeZone, 'to');
    const [y, m, d] = search.toDay.split('-').map(Number);
    query.to = day(
      new Date(Date.UTC(y!, m! - 1, d! + 1)).toISOString().slice(0, 10),
      timeZone,
      'to',
    );
  }
  if (query.from !== undefined && query.to !== undefined && query.from >= query.to)
    throw new VoicegateError('INVALID_INPUT', 'the date range ends before it starts');
  if (search.priority) query.priority = search.priority;
  if (search.private !== undefined) query.private = search.private;
  if (search.after) query.after = search.after;
  return query;
}
