// A PostgreSQL store made before the mailbox's home replaced the e-mail mode "exchange": its
// mailboxes in that mode are at home in Exchange after the upgrade, their mode off.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../server/store/open-store.ts';
import { PgAccess } from '../../server/store/postgres/pg-access.ts';
import { migratePg, PG_MIGRATIONS } from '../../server/store/postgres/pg-migrations.ts';
import { startPgCluster, type PgCluster } from '../helpers/postgres.ts';

let cluster: PgCluster;

beforeAll(async () => {
  cluster = await startPgCluster();
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

describe('the PostgreSQL migration of the old e-mail mode "exchange"', () => {
  it('puts its mailboxes at home in Exchange at their address, mode off, and keeps set homes', async () => {
    const url = await cluster.createDatabase();
    const name = new URL(url).pathname.slice(1);
    const at = PG_MIGRATIONS.findIndex((m) => m.includes("WHERE email_mode = 'exchange'"));
    expect(at).toBeGreaterThan(0);
    const before = new PgAccess(url);
    await migratePg(before, PG_MIGRATIONS.slice(0, at));
    await before.close();
    await cluster.query(
      `INSERT INTO mailbox (id, kind, name, code_hash, email, email_mode, locale, time_zone,
         created_at)
       VALUES (1, 'user', 'erin', 'x', 'erin@contoso.example', 'exchange', 'en-US', 'UTC', 0),
         (2, 'user', 'frank', 'x', 'frank@example.com', 'copy', 'en-US', 'UTC', 0),
         (3, 'user', 'gina', 'x', 'gina@contoso.example', 'exchange', 'en-US', 'UTC', 0)`,
      [],
      name,
    );
    // Gina's home was set already: it stays.
    await cluster.query(
      `INSERT INTO mailbox_home (mailbox_id, home, exchange_address, exchange_connection)
       VALUES (3, 'exchange', 'g.other@contoso.example', 'online')`,
      [],
      name,
    );
    const upgraded = await openStore({ store: { backend: 'postgresql', url }, dataDir: '/x' });
    try {
      const { store } = upgraded;
      expect((await store.getMailbox(1))?.emailMode).toBe('off');
      expect((await store.getMailbox(2))?.emailMode).toBe('copy');
      expect(await store.getMailboxHome(1)).toEqual({
        home: 'exchange',
        exchangeAddress: 'erin@contoso.example',
        exchangeConnection: null,
      });
      expect((await store.getMailboxHome(2)).home).toBe('local');
      expect(await store.getMailboxHome(3)).toEqual({
        home: 'exchange',
        exchangeAddress: 'g.other@contoso.example',
        exchangeConnection: 'online',
      });
    } finally {
      await upgraded.close();
    }
  });
});
