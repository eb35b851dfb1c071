import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AdminSession } from '../../../server/domain/admin.ts';
import type { VoicemailStore } from '../../../server/domain/ports.ts';
import type { OpenedStore } from './opened-store.ts';

export function adminsContract(open: () => Promise<OpenedStore>): void {
  describe('administrators', () => {
    let opened: OpenedStore;
    let store: VoicemailStore;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });
    afterEach(() => opened.close());
    const add = (name: string) =>
      store.createAdmin({ name, passwordHash: `hash-${name}`, createdAt: 1000 });

    it('adds, finds, lists and changes administrators; a name is taken once', async () => {
      const root = await add('root');
      expect(root).toEqual({
        id: root.id,
        name: 'root',
        passwordHash: 'hash-root',
        totpSecret: null,
        failedLogins: 0,
        lockedUntil: null,
        createdAt: 1000,
      });
      await add('ann');
      await expect(add('root')).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
      expect((await store.listAdmins()).map((a) => a.name)).toEqual(['ann', 'root']);
      expect(await store.findAdmin('Root')).toBeNull();
      await store.setAdminPassword(root.id, 'new-hash');
      await store.setAdminTotp(root.id, 'JBSWY3DPEHPK3PXP');
      expect(await store.findAdmin('root')).toMatchObject({
        passwordHash: 'new-hash',
        totpSecret: 'JBSWY3DPEHPK3PXP',
      });
      const other = await opened.reopen();
      expect(await other.store.getAdmin(root.id)).toMatchObject({ name: 'root' });
      await other.close();
    });

    it('takes each one-time code step once, and never an earlier one, even from two log-ins at once', async () => {
      const a = await add('a');
      const b = await add('b');
      const racing = await Promise.all([
        store.takeAdminTotpStep(a.id, 1000),
        store.takeAdminTotpStep(a.id, 1000),
        store.takeAdminTotpStep(a.id, 1000),
      ]);
      expect(racing.filter(Boolean)).toHaveLength(1);
      expect(await store.takeAdminTotpStep(a.id, 999)).toBe(false);
      expect(await store.takeAdminTotpStep(a.id, 1001)).toBe(true);
      expect(await store.takeAdminTotpStep(a.id, 1001)).toBe(false);
      // Each administrator's steps are its own.
      expect(await store.takeAdminTotpStep(b.id, 1000)).toBe(true);
      const other = await opened.reopen();
      expect(await other.store.takeAdminTotpStep(a.id, 1001)).toBe(false);
      await other.close();
    });

    it('never removes the last administrator, even with two removals at once', async () => {
      const a = await add('a');
      const b = await add('b');
      const results = await Promise.allSettled([store.removeAdmin(a.id), store.removeAdmin(b.id)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(refused.reason).toMatchObject({ code: 'INVALID_STATE' });
      expect(await store.listAdmins()).toHaveLength(1);
      await expect(store.removeAdmin(9999)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('counts log-in attempts atomically and locks at the limit', async () => {
      const a = await add('a');
      const tries = await Promise.all(
        Array.from({ length: 5 }, () => store.reserveAdminLogin(a.id, 100, 3, 5000)),
      );
      expect(tries.filter((n) => n !== null).sort()).toEqual([1, 2, 3]);
      expect(await store.getAdmin(a.id)).toMatchObject({ failedLogins: 3, lockedUntil: 5000 });
      expect(await store.reserveAdminLogin(a.id, 6000, 3, 9000)).toBe(1);
      await store.setAdminLoginState(a.id, 0, null);
      expect(await store.getAdmin(a.id)).toMatchObject({ failedLogins: 0, lockedUntil: null });
    });

    it('keeps sessions until they expire; ends them one by one, or all but one', async () => {
      const a = await add('a');
      const b = await add('b');
      const session = (tokenHash: string, adminId: number): AdminSession => ({
        tokenHash,
        adminId,
        csrfToken: `csrf-${tokenHash}`,
        createdAt: 1000,
        expiresAt: 10_000,
      });
      for (const h of ['a1', 'a2', 'a3']) await store.createAdminSession(session(h, a.id));
      await store.createAdminSession(session('b1', b.id));
      expect(await store.getAdminSession('a1', 5000)).toEqual(session('a1', a.id));
      expect(await store.getAdminSession('a1', 10_000)).toBeNull();
      await store.extendAdminSession('a1', 20_000);
      expect(await store.getAdminSession('a1', 15_000)).toMatchObject({ expiresAt: 20_000 });
      await store.deleteAdminSession('a1');
      expect(await store.getAdminSession('a1', 5000)).toBeNull();
      await store.deleteAdminSessionsOf(a.id, 'a2');
      expect(await store.getAdminSession('a2', 5000)).not.toBeNull();
      expect(await store.getAdminSession('a3', 5000)).toBeNull();
      await store.removeAdmin(b.id);
      expect(await store.getAdminSession('b1', 5000)).toBeNull();
    });
  });
}
