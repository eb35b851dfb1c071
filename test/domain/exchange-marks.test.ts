import { describe, expect, it } from 'vitest';
import { actionsFor, marksFor } from '../../server/domain/exchange-state.ts';
import type { Message } from '../../server/domain/message.ts';

const m = (state: Message['state'], deletedFrom: Message['deletedFrom'] = null) =>
  ({ state, deletedFrom }) as Message;

describe('a voicemail written to its Exchange item', () => {
  it.each([
    [m('new'), { place: 'inbox', isRead: false, flagged: false }],
    [m('unopened'), { place: 'inbox', isRead: false, flagged: false }],
    [m('old'), { place: 'inbox', isRead: true, flagged: false }],
    [m('saved'), { place: 'inbox', isRead: true, flagged: true }],
    [m('deleted', 'saved'), { place: 'deleted', isRead: true, flagged: true }],
    [m('deleted', 'new'), { place: 'deleted', isRead: false, flagged: false }],
  ] as const)('%j shows %j', (message, marks) => {
    expect(marksFor(message)).toEqual(marks);
  });

  it('reads back as itself: an item written from a voicemail changes nothing here', () => {
    for (const message of [
      m('new'),
      m('old'),
      m('saved'),
      m('deleted', 'old'),
      m('deleted', 'saved'),
    ])
      expect(actionsFor(message, marksFor(message))).toEqual([]);
  });
});
