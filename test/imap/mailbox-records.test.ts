import { describe, expect, it } from 'vitest';
import type { ImapDeps } from '../../imap/deps.ts';
import type { ImapSession } from '../../imap/imap-core.ts';
import { sessionHooks } from '../../imap/session-hooks.ts';

/** Session hooks over a mailbox service that knows one mailbox, `name` as it is now. */
function hooksFor(mailbox: { id: number; name: string }) {
  const deps = {
    mailboxes: { authenticate: async () => ({ ...mailbox }) },
    store: {
      folderSnapshot: async () => ({ uids: [1], uidNext: 2, uidValidity: 7, modseq: 3 }),
    },
  } as unknown as ImapDeps;
  const hooks = sessionHooks(deps);
  const login = async (): Promise<ImapSession['user']> => {
    const [result] = await hooks.onAuth(
      { method: 'LOGIN', username: mailbox.name, password: '1234' },
      { remoteAddress: '127.0.0.1' } as ImapSession,
    );
    return (result as { user: ImapSession['user'] }).user;
  };
  return { hooks, login };
}

describe('what the sessions of one mailbox share', () => {
  it('gives every session of a mailbox one user record, made again when the mailbox is renamed', async () => {
    const mailbox = { id: 45, name: 'anna' };
    const { login } = hooksFor(mailbox);
    const first = await login();
    const second = await login();
    expect(first).toEqual({ id: 45, username: 'anna' });
    expect(second).toBe(first);
    // The record is shared, so no session may change it for the others.
    expect(Object.isFrozen(first)).toBe(true);

    mailbox.name = 'anna.berg';
    const renamed = await login();
    expect(renamed).toEqual({ id: 45, username: 'anna.berg' });
    expect(first.username).toBe('anna');
  });

  it('selects a folder under the same id for every session, the one the notifier reads', async () => {
    const { hooks, login } = hooksFor({ id: 45, name: 'anna' });
    const user = await login();
    const session = { user } as ImapSession;
    const [inbox] = await hooks.onOpen('INBOX', session);
    const [trash] = await hooks.onOpen('Trash', session);
    expect(inbox).toMatchObject({ _id: '45/inbox', uidList: [1], uidNext: 2, uidValidity: 7 });
    expect((trash as { _id: string })._id).toBe('45/trash');
  });
});
