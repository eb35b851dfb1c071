import { describe, expect, it } from 'vitest';
import { backupUpdatesFor, peerStateOf } from '../../server/domain/backup-updates.ts';
import type { Message } from '../../server/domain/message.ts';

const message = (over: Partial<Message>): Message =>
  ({
    id: 'm1',
    identity: 'v1@central',
    mailboxId: 4,
    state: 'new',
    deletedFrom: null,
    stateChangedAt: 100,
    receivedAt: 100,
    callerNumber: null,
    callerName: null,
    audio: { key: 'k', format: 'wav', bytes: 1, durationMs: 1 },
    priority: 'normal',
    private: false,
    ...over,
  }) as Message;
const deps = { backup: 'backup', serverName: 'central' };
const box = { id: 4, name: 'alice' };

describe("the central's state changes for its backup", () => {
  it('queues one update to the backup per change, carrying the new state and its time', () => {
    const [d, ...rest] = backupUpdatesFor(
      deps,
      box,
      [{ message: message({}), to: { state: 'old', deletedFrom: null } }],
      500,
    );
    expect(rest).toEqual([]);
    expect(d).toMatchObject({
      target: 'peer',
      kind: 'update',
      mailboxId: 4,
      recipient: 'alice',
      messageId: 'm1',
      identity: 'v1@central',
      payload: {
        peer: 'backup',
        state: 'old',
        deletedFrom: null,
        changedAt: 500,
        server: 'central',
      },
    });
  });

  it('queues nothing without a backup, or for a change that leaves the state as it was', () => {
    const change = { message: message({}), to: { state: 'old' as const, deletedFrom: null } };
    expect(backupUpdatesFor({ serverName: 'central' }, box, [change], 1)).toEqual([]);
    const same = {
      message: message({ state: 'old' }),
      to: { state: 'old' as const, deletedFrom: null },
    };
    expect(backupUpdatesFor(deps, box, [same], 1)).toEqual([]);
  });

  it('names the delete an undelete undoes, and marks a purge', () => {
    const deleted = message({ state: 'deleted', deletedFrom: 'saved', stateChangedAt: 300 });
    expect(
      peerStateOf({ message: deleted, to: { state: 'saved', deletedFrom: null } }, 400, 'c'),
    ).toEqual({ state: 'saved', deletedFrom: null, changedAt: 400, server: 'c', undoes: 300 });
    expect(peerStateOf({ message: deleted, to: null }, 500, 'c')).toEqual({
      state: 'deleted',
      deletedFrom: 'saved',
      changedAt: 500,
      server: 'c',
      purged: true,
    });
  });
});
