import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewAuditRecord } from '../../../server/domain/audit.ts';
import type { VoicemailStore } from '../../../server/domain/ports.ts';
import type { OpenedStore } from './opened-store.ts';

export function auditContract(open: () => Promise<OpenedStore>): void {
  describe('audit trail', () => {
    let opened: OpenedStore;
    let store: VoicemailStore;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });
    afterEach(() => opened.close());
    const record = (at: number, over: Partial<NewAuditRecord> = {}): NewAuditRecord => ({
      at,
      kind: 'login',
      channel: 'web',
      principal: 'mailbox:alice',
      mailbox: 'alice',
      client: '192.0.2.7',
      outcome: 'success',
      reason: null,
      details: null,
      ...over,
    });

    it('keeps records and finds them newest first, by mailbox, kind, time and page', async () => {
      const first = await store.addAudit(record(1000));
      expect(first).toEqual({ id: first.id, ...record(1000) });
      await store.addAudit(
        record(2000, { mailbox: 'bob', outcome: 'failure', reason: 'wrong code' }),
      );
      await store.addAudit(
        record(3000, {
          kind: 'mailbox-change',
          channel: 'admin-web',
          principal: 'admin:root',
          details: { fullName: { before: 'A', after: 'B' } },
        }),
      );
      const all = await store.queryAudit({ limit: 10 });
      expect(all.map((r) => r.at)).toEqual([3000, 2000, 1000]);
      expect(all[0]!.details).toEqual({ fullName: { before: 'A', after: 'B' } });
      expect((await store.queryAudit({ mailbox: 'bob', limit: 10 })).map((r) => r.at)).toEqual([
        2000,
      ]);
      expect((await store.queryAudit({ kind: 'login', limit: 10 })).map((r) => r.at)).toEqual([
        2000, 1000,
      ]);
      expect(
        (await store.queryAudit({ since: 1500, until: 3000, limit: 10 })).map((r) => r.at),
      ).toEqual([2000]);
      const page1 = await store.queryAudit({ limit: 2 });
      const page2 = await store.queryAudit({ limit: 2, before: page1[1]!.id });
      expect(page2.map((r) => r.at)).toEqual([1000]);
      expect(
        (await store.queryAudit({ principal: 'admin:root', limit: 10 })).map((r) => r.kind),
      ).toEqual(['mailbox-change']);
    });

    it('prunes records older than the retention', async () => {
      for (const at of [1000, 2000, 3000]) await store.addAudit(record(at));
      expect(await store.pruneAudit(2500)).toBe(2);
      expect((await store.queryAudit({ limit: 10 })).map((r) => r.at)).toEqual([3000]);
    });
  });
}
