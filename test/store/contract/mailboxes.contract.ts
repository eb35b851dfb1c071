import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VoicemailStore } from '../../../server/domain/ports.ts';
import { addMailbox, codeOf, deposit, newMailbox } from './fixtures.ts';
import type { OpenedStore } from './opened-store.ts';

const AUDIO = { format: 'wav/pcm16/8000', bytes: 16_044, durationMs: 1000 };

export function mailboxesContract(open: () => Promise<OpenedStore>): void {
  describe('mailboxes', () => {
    let opened: OpenedStore;
    let store: VoicemailStore;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });
    afterEach(() => opened.close());

    it('creates a mailbox with what it was given, and updates only what changes', async () => {
      const created = await store.createMailbox({
        ...newMailbox('alice', '201'),
        trustedNumbers: ['+15550111'],
        breakouts: { '0': '100' },
      });
      expect(created).toMatchObject({
        kind: 'user',
        name: 'alice',
        extension: '201',
        fullName: 'alice full name',
        codeHash: 'hash-of-alice',
        trustedNumbers: ['+15550111'],
        breakouts: { '0': '100' },
        failedLogins: 0,
        lockedUntil: null,
        sip: null,
      });
      const updated = await store.updateMailbox(created.id, {
        fullName: 'Alice L',
        email: 'a@x.test',
      });
      expect(updated).toMatchObject({
        name: 'alice',
        extension: '201',
        fullName: 'Alice L',
        email: 'a@x.test',
      });
      expect(await store.getMailbox(created.id)).toEqual(updated);
      expect(await store.getMailbox(created.id + 1000)).toBeNull();

      await store.setCodeHash(created.id, 'another-hash');
      const sip = { realm: 'voicegate', ha1Md5: 'md5', ha1Sha256: 'sha' };
      await store.setSipCredentials(created.id, sip);
      expect(await store.getMailbox(created.id)).toMatchObject({ codeHash: 'another-hash', sip });
      await store.setSipCredentials(created.id, null);
      expect((await store.getMailbox(created.id))!.sip).toBeNull();
    });

    it('finds by exact name first, then by extension; names are case-sensitive', async () => {
      const alice = await addMailbox(store, 'alice', '201');
      // A mailbox named like another's extension: the name wins.
      const named201 = await addMailbox(store, '201', '301');
      expect((await store.findMailbox('alice'))?.id).toBe(alice.id);
      expect(await store.findMailbox('Alice')).toBeNull();
      expect((await store.findMailbox('201'))?.id).toBe(named201.id);
      expect((await store.findMailbox('301'))?.id).toBe(named201.id);
      expect(await store.findMailbox('999')).toBeNull();
      expect((await store.listMailboxes()).map((m) => m.name).sort()).toEqual(['201', 'alice']);
    });

    it('refuses a name or an extension already taken (ALREADY_EXISTS)', async () => {
      const alice = await addMailbox(store, 'alice', '201');
      const bob = await addMailbox(store, 'bob', '202');
      expect(await codeOf(addMailbox(store, 'alice', '203'))).toBe('ALREADY_EXISTS');
      expect(await codeOf(addMailbox(store, 'carol', '201'))).toBe('ALREADY_EXISTS');
      expect(await codeOf(store.updateMailbox(bob.id, { name: 'alice' }))).toBe('ALREADY_EXISTS');
      expect(await codeOf(store.updateMailbox(bob.id, { extension: '201' }))).toBe(
        'ALREADY_EXISTS',
      );
      expect((await store.getMailbox(bob.id))!.name).toBe('bob');
      expect((await store.getMailbox(alice.id))!.extension).toBe('201');
    });

    it('creates one mailbox when many ask for the same name at once', async () => {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => codeOf(addMailbox(store, 'same', String(400 + i)))),
      );
      expect(results.filter((r) => r === 'resolved')).toHaveLength(1);
      expect(results.filter((r) => r === 'ALREADY_EXISTS')).toHaveLength(9);
      expect((await store.listMailboxes()).map((m) => m.name)).toEqual(['same']);
    });

    it('removes a mailbox with its messages, greetings and group membership, returning their audio', async () => {
      const alice = await addMailbox(store, 'alice', '201');
      const group = await store.createMailbox(newMailbox('sales', '600', 'group'));
      await store.setGroupMembers(group.id, [alice.id]);
      const m = await deposit(store, alice.id);
      const greetingKey = randomUUID();
      await store.setGreeting(alice.id, 'busy', { key: greetingKey, ...AUDIO }, Date.now());
      // Audio another mailbox still uses is not returned.
      const bob = await addMailbox(store, 'bob', '202');
      const shared = randomUUID();
      await deposit(store, alice.id, shared);
      await deposit(store, bob.id, shared);

      const keys = await store.removeMailbox(alice.id);
      expect(keys.sort()).toEqual([m.audio.key, greetingKey].sort());
      expect(await store.getMailbox(alice.id)).toBeNull();
      expect(await store.findMailbox('alice')).toBeNull();
      expect(await store.getMessage(m.id)).toBeNull();
      expect(await store.listMessages(alice.id)).toEqual([]);
      expect(await store.listGreetings(alice.id)).toEqual([]);
      expect(await store.groupMembers(group.id)).toEqual([]);
      expect(await store.listMessages(bob.id)).toHaveLength(1);
      // The name is free again.
      expect((await addMailbox(store, 'alice', '201')).id).not.toBe(alice.id);
    });

    it('keeps group members as set, replacing the whole list', async () => {
      const group = await store.createMailbox(newMailbox('sales', '600', 'group'));
      const a = await addMailbox(store, 'a', '201');
      const b = await addMailbox(store, 'b', '202');
      const c = await addMailbox(store, 'c', '203');
      await store.setGroupMembers(group.id, [c.id, a.id]);
      expect(await store.groupMembers(group.id)).toEqual([a.id, c.id]);
      await store.setGroupMembers(group.id, [b.id]);
      expect(await store.groupMembers(group.id)).toEqual([b.id]);
    });

    it('numbers log-in attempts, locks at the limit, and starts again after the lock', async () => {
      const alice = await addMailbox(store, 'alice', '201');
      const now = 1_000_000;
      const until = now + 60_000;
      expect(await store.reserveLogin(alice.id, now, 3, until)).toBe(1);
      expect(await store.reserveLogin(alice.id, now, 3, until)).toBe(2);
      expect(await store.reserveLogin(alice.id, now, 3, until)).toBe(3);
      expect(await store.getMailbox(alice.id)).toMatchObject({
        failedLogins: 3,
        lockedUntil: until,
      });
      expect(await store.reserveLogin(alice.id, now + 1000, 3, until)).toBeNull();
      // After the lock, a new window.
      expect(await store.reserveLogin(alice.id, until, 3, until + 60_000)).toBe(1);
      // A right code resets both.
      await store.setLoginState(alice.id, 0, null);
      expect(await store.getMailbox(alice.id)).toMatchObject({
        failedLogins: 0,
        lockedUntil: null,
      });
      expect(await store.reserveLogin(alice.id + 1000, now, 3, until)).toBeNull();
      await store.recordNoLogin();
      expect((await store.getMailbox(alice.id))!.failedLogins).toBe(0);
    });

    it('gives concurrent attempts distinct numbers and never more than the limit', async () => {
      const alice = await addMailbox(store, 'alice', '201');
      const second = await opened.reopen();
      try {
        const now = 1_000_000;
        const attempts = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            (i % 2 ? second.store : store).reserveLogin(alice.id, now, 5, now + 60_000),
          ),
        );
        expect(attempts.filter((n) => n !== null).sort()).toEqual([1, 2, 3, 4, 5]);
        expect(attempts.filter((n) => n === null)).toHaveLength(7);
      } finally {
        await second.close();
      }
    });
  });
}
