import { describe, expect, it } from 'vitest';
import { actionsFor, type ExchangeView } from '../../server/domain/exchange-state.ts';
import type { Message } from '../../server/domain/message.ts';

const m = (state: Message['state'], deletedFrom: Message['deletedFrom'] = null) =>
  ({ state, deletedFrom }) as Message;
const inbox = (isRead: boolean, flagged = false): ExchangeView => ({
  place: 'inbox',
  isRead,
  flagged,
});

describe('Exchange state mapped onto a voicemail', () => {
  it.each([
    ['new', inbox(true), ['play']],
    ['unopened', inbox(true), ['play']],
    ['old', inbox(false), ['markUnread']],
    ['new', inbox(false), []],
    ['old', inbox(true), []],
    ['new', inbox(false, true), ['save']],
    ['saved', inbox(true, true), []],
    ['saved', inbox(true), ['unsave']],
    ['saved', inbox(false), ['markUnread']],
    ['old', { place: 'elsewhere', isRead: true, flagged: false }, ['save']],
    ['new', { place: 'deleted', isRead: false, flagged: false }, ['delete']],
  ] as const)('%s, then %j in Exchange: %j', (state, view, actions) => {
    expect(actionsFor(m(state), view)).toEqual(actions);
  });

  it('undeletes a message moved back to the Inbox, then follows its marks', () => {
    expect(actionsFor(m('deleted', 'new'), inbox(false))).toEqual(['undelete']);
    expect(actionsFor(m('deleted', 'new'), inbox(true))).toEqual(['undelete', 'play']);
    expect(
      actionsFor(m('deleted', 'saved'), { place: 'deleted', isRead: true, flagged: true }),
    ).toEqual([]);
  });

  it('purges a voicemail whose item is gone', () => {
    expect(actionsFor(m('old'), { place: 'gone' })).toBe('purge');
  });
});
