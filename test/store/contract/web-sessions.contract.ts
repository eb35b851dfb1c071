import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MailboxRecord } from '../../../server/domain/mailbox.ts';
import type { VoicemailStore, WebSession } from '../../../server/domain/ports.ts';
import { addMailbox } from './fixtures.ts';
import type { OpenedStore } from './opened-store.ts';

export function webSessionsContract(open: () => Promise<OpenedStore>): void {
  describe('web sessions', () => {
    let opened: OpenedStore;
    let store: VoicemailStore;
    let alice: MailboxRecord;
    const session = (tokenHash: string, mailboxId: number, expiresAt = 10_000): WebSession => ({
      tokenHash,
      mailboxId,
      csrfToken: `csrf-${tokenHash}`,
      createdAt: 1000,
      expiresAt,
    });
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
      alice = await addMailbox(store, 'alice', '201');
    });
    afterEach(() => opened.close());

    it('keeps a session until it expires, and extends it', async () => {
      await store.createWebSession(session('h1', alice.id));
      expect(await store.getWebSession('h1', 5000)).toEqual(session('h1', alice.id));
      expect(await store.getWebSession('h1', 10_000)).toBeNull();
      expect(await store.getWebSession('unknown', 5000)).toBeNull();
      await store.extendWebSession('h1', 20_000);
      expect(await store.getWebSession('h1', 15_000)).toMatchObject({ expiresAt: 20_000 });
    });

    it('ends one session, or every session of a mailbox but one', async () => {
      const bob = await addMailbox(store, 'bob', '202');
      for (const h of ['a1', 'a2', 'a3']) await store.createWebSession(session(h, alice.id));
      await store.createWebSession(session('b1', bob.id));
      await store.deleteWebSession('a1');
      expect(await store.getWebSession('a1', 5000)).toBeNull();
      await store.deleteWebSessionsOf(alice.id, 'a2');
      expect(await store.getWebSession('a2', 5000)).not.toBeNull();
      expect(await store.getWebSession('a3', 5000)).toBeNull();
      expect(await store.getWebSession('b1', 5000)).not.toBeNull();
      await store.deleteWebSessionsOf(alice.id);
      expect(await store.getWebSession('a2', 5000)).toBeNull();
    });

    it('counts the sessions alive at a time, of mailboxes and of administrators', async () => {
      expect(await store.countWebSessions(5000)).toEqual({ mailbox: 0, admin: 0 });
      const bob = await addMailbox(store, 'bob', '202');
      await store.createWebSession(session('a1', alice.id));
      await store.createWebSession(session('a2', alice.id, 6000));
      await store.createWebSession(session('b1', bob.id));
      const admin = await store.createAdmin({ name: 'root', passwordHash: 'x', createdAt: 1000 });
      await store.createAdminSession({
        tokenHash: 'r1',
        adminId: admin.id,
        csrfToken: 'csrf-r1',
        createdAt: 1000,
        expiresAt: 10_000,
      });
      expect(await store.countWebSessions(5000)).toEqual({ mailbox: 3, admin: 1 });
      // An expired session no longer counts, and one logged out neither.
      expect(await store.countWebSessions(7000)).toEqual({ mailbox: 2, admin: 1 });
      await store.deleteWebSession('b1');
      await store.deleteAdminSession('r1');
      expect(await store.countWebSessions(5000)).toEqual({ mailbox: 2, admin: 0 });
    });

    it("ends a mailbox's sessions with the mailbox", async () => {
      await store.createWebSession(session('a1', alice.id));
      await store.removeMailbox(alice.id);
      expect(await store.getWebSession('a1', 5000)).toBeNull();
    });
  });
}
