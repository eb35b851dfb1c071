// The web list on PostgreSQL reads indexes, not the mailbox: a caller search goes through the
// pg_trgm indexes, each order through its own index in its direction, with no sort. Without
// pg_trgm it still answers; a database of the previous schema is upgraded with its messages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIVE_STATES } from '../../server/domain/message-state.ts';
import type { MessageQuery, VoicemailStore } from '../../server/domain/ports.ts';
import { LOCAL_HOME } from '../../server/domain/exchange.ts';
import { openStore } from '../../server/store/open-store.ts';
import { PgAccess } from '../../server/store/postgres/pg-access.ts';
import { migratePg, PG_MIGRATIONS } from '../../server/store/postgres/pg-migrations.ts';
import { pageStatements } from '../../server/store/postgres/pg-message-query.ts';
import type { OpenedStore } from '../../server/domain/ports.ts';
import { startPgCluster, type PgCluster } from '../helpers/postgres.ts';
import { addMailbox, newMessage } from './contract/fixtures.ts';

let cluster: PgCluster;
let opened: OpenedStore;
let store: VoicemailStore;
let database: string;
let mailboxId: number;

beforeAll(async () => {
  cluster = await startPgCluster();
  const url = await cluster.createDatabase();
  database = new URL(url).pathname.slice(1);
  opened = await openStore({ store: { backend: 'postgresql', url }, dataDir: '/nonexistent' });
  store = opened.store;
  const alice = await addMailbox(store, 'alice', '201');
  const bob = await addMailbox(store, 'bob', '202');
  mailboxId = alice.id;
  // 500 voicemails deposited over two mailboxes, one of them from Carol Smith...
  for (let batch = 0; batch < 2; batch++)
    await store.addMessages(
      Array.from({ length: 250 }, (_, i) => {
        const n = batch * 250 + i;
        return {
          ...newMessage(n % 2 ? bob.id : alice.id, undefined, 1_000_000 + n),
          callerName: n === 124 ? 'Carol Smith' : `Caller ${n}`,
          callerNumber: `+1555${String(n).padStart(6, '0')}`,
          priority: n % 7 === 0 ? ('high' as const) : ('normal' as const),
        };
      }),
      Date.now(),
    );
  // ...among 60000 older ones, written directly: a table large enough for the planner to weigh
  // an index against reading the mailbox (on a few hundred rows reading them all is cheaper).
  await cluster.query(
    `INSERT INTO message (id, identity, mailbox_id, kind, caller_number, caller_name, received_at,
       audio_key, audio_format, audio_bytes, duration_ms, state, state_changed_at, priority,
       origin_server, modseq, uid)
     SELECT 'old-' || g, 'old-' || g, CASE WHEN g % 2 = 0 THEN $1::int ELSE $2::int END, 'message',
       '+1666' || lpad(g::text, 6, '0'), 'Earlier ' || g, g, 'none', 'wav', 1, 1, 'saved', g,
       CASE WHEN g % 7 = 0 THEN 'high' ELSE 'normal' END, 'test', 1, 100000 + g
     FROM generate_series(1, 60000) AS g`,
    [alice.id, bob.id],
    database,
  );
  await cluster.query('ANALYZE message', [], database);
}, 120_000);

afterAll(async () => {
  await opened?.close();
  await cluster?.stop();
}, 60_000);

/** PostgreSQL's plan for a statement, as EXPLAIN's text. */
async function plan(statement: { text: string; values: unknown[] }): Promise<string> {
  const rows = await cluster.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN ${statement.text}`,
    statement.values,
    database,
  );
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

const inbox: MessageQuery = { states: LIVE_STATES, order: 'newest', limit: 25 };

describe('the web list on PostgreSQL', () => {
  it('finds a caller by part of the name or number through the trigram indexes', async () => {
    const page = await store.queryMessages(mailboxId, { ...inbox, caller: 'smith' });
    expect(page.messages.map((m) => m.callerName)).toEqual(['Carol Smith']);
    expect(page.total).toBe(1);
    const { count, page: rows } = pageStatements(mailboxId, { ...inbox, caller: 'smith' });
    for (const statement of [count, rows]) {
      const text = await plan(statement);
      expect(text).toContain('message_caller_name');
      expect(text).toContain('message_caller_number');
      expect(text).not.toMatch(/Seq Scan/);
    }
    const byNumber = await store.queryMessages(mailboxId, { ...inbox, caller: '55500012' });
    expect(byNumber.total).toBe(5); // 000120, 000122, ... 000128 are alice's
  });

  it('reads each order from its index, in its direction, without sorting', async () => {
    for (const order of ['newest', 'oldest', 'priority'] as const) {
      const first = await store.queryMessages(mailboxId, { ...inbox, order });
      expect(first.total).toBe(30_250);
      const text = await plan(
        pageStatements(mailboxId, { ...inbox, order, after: first.next! }).page,
      );
      expect(text).toContain(order === 'priority' ? 'message_by_priority' : 'message_in_order');
      expect(text).not.toMatch(/Sort|Seq Scan/);
    }
  });

  it('still finds callers, by reading the mailbox, where the store may not create pg_trgm', async () => {
    // A store's user with no right to create extensions in its database (not its owner).
    const name = new URL(await cluster.createDatabase()).pathname.slice(1);
    await cluster.query('CREATE ROLE plain LOGIN');
    await cluster.query('GRANT USAGE, CREATE ON SCHEMA public TO plain', [], name);
    const url = new URL(cluster.url(name));
    url.username = 'plain';
    const limited = await openStore({
      store: { backend: 'postgresql', url: url.href },
      dataDir: '/nonexistent',
    });
    try {
      const box = await addMailbox(limited.store, 'carol', '203');
      await limited.store.addMessages(
        [{ ...newMessage(box.id), callerName: 'Dan Smith', callerNumber: '+15550999' }],
        Date.now(),
      );
      const found = await limited.store.queryMessages(box.id, { ...inbox, caller: 'SMITH' });
      expect(found.messages.map((m) => m.callerName)).toEqual(['Dan Smith']);
      const indexes = await cluster.query<{ indexname: string }>(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'message'",
        [],
        name,
      );
      expect(indexes.map((i) => i.indexname)).not.toContain('message_caller_name');
      expect(indexes.map((i) => i.indexname)).toContain('message_in_order');
    } finally {
      await limited.close();
    }
  });

  it('upgrades a database made before the web list and Exchange, keeping its messages', async () => {
    const url = await cluster.createDatabase();
    const name = new URL(url).pathname.slice(1);
    const before = new PgAccess(url);
    await migratePg(before, PG_MIGRATIONS.slice(0, 2));
    await before.close();
    await cluster.query(
      `INSERT INTO mailbox (name, extension, code_hash, locale, time_zone, created_at, kind)
       VALUES ('erin', '205', 'x', 'en-US', 'UTC', 1, 'user')`,
      [],
      name,
    );
    await cluster.query(
      `INSERT INTO message (id, identity, mailbox_id, kind, caller_name, received_at, audio_key,
         audio_format, audio_bytes, duration_ms, state, state_changed_at, origin_server, modseq, uid)
       VALUES ('m1', 'm1', 1, 'message', 'Frank Miller', 5, 'a', 'wav', 1, 1, 'new', 5, 'x', 2, 1)`,
      [],
      name,
    );
    const upgraded = await openStore({ store: { backend: 'postgresql', url }, dataDir: '/x' });
    try {
      const found = await upgraded.store.queryMessages(1, { ...inbox, caller: 'miller' });
      expect(found.messages.map((m) => m.id)).toEqual(['m1']);
      expect(await upgraded.store.getMailboxHome(1)).toEqual(LOCAL_HOME);
      // The queue takes the items that write a user's action through to Exchange.
      await cluster.query(
        `INSERT INTO delivery (target, kind, mailbox_id, recipient, voicemail_id, identity,
           received_at, audio_key, audio_format, audio_bytes, duration_ms, priority, private,
           next_attempt_at, created_at)
         VALUES ('ews', 'update', 1, 'erin@example.com', 'm1', 'u1', 5, 'a', 'wav', 1, 1,
           'normal', 0, 5, 5)`,
        [],
        name,
      );
    } finally {
      await upgraded.close();
    }
  });
});
