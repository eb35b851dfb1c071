import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isVoicegateError } from '../../server/domain/errors.ts';
import { MIGRATIONS, migrate, schemaVersion } from '../../server/store/migrations.ts';
import { SqliteStore } from '../../server/store/sqlite-store.ts';
import { toneWav } from '../../server/media/tone.ts';
import { runCli } from '../helpers/cli.ts';
import { tempData, type TempData } from '../helpers/temp-data.ts';
import type { Delivery } from '../../server/domain/delivery.ts';

let data: TempData;
let dbFile: string;
const open: { close(): unknown }[] = [];

beforeEach(() => {
  data = tempData();
  dbFile = join(data.dataDir, 'voicegate.db');
});

afterEach(() => {
  for (const handle of open.splice(0)) handle.close();
  data.remove();
});

function openDb(): DatabaseSync {
  const db = new DatabaseSync(dbFile);
  open.push(db);
  return db;
}

function tables(db: DatabaseSync): string[] {
  const rows = db
    .prepare(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .all();
  return (rows as { name: string }[]).map((r) => r.name);
}

describe('schema migrations', () => {
  it('bring a fresh store to the latest version', async () => {
    const store = new SqliteStore(dbFile);
    open.push(store.db);
    expect(MIGRATIONS.length).toBeGreaterThan(0);
    expect(schemaVersion(store.db)).toBe(MIGRATIONS.length);
    expect(tables(store.db)).toEqual([
      'admin',
      'admin_session',
      'audit',
      'delivery',
      'deposit',
      'email_reading',
      'exchange_item',
      'greeting',
      'group_member',
      'journal',
      'mailbox',
      'mailbox_home',
      'message',
      // The caller search's trigram index (FTS5 keeps it in tables of its own).
      'message_caller',
      'message_caller_config',
      'message_caller_data',
      'message_caller_docsize',
      'message_caller_idx',
      'rendition',
      'web_preference',
      'web_session',
    ]);
    // Opening again finds nothing to do.
    expect(migrate(store.db)).toBe(MIGRATIONS.length);
    expect(schemaVersion(store.db)).toBe(MIGRATIONS.length);
  });

  it('apply only the migrations a store has not had, keeping its data', async () => {
    const ctx = await data.open();
    const mailbox = await ctx.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
    const [message] = await ctx.messages.deposit({
      mailbox: 'alice',
      audio: toneWav({ seconds: 2 }),
    });
    await ctx.close();

    const next = [
      ...MIGRATIONS,
      `ALTER TABLE mailbox ADD COLUMN nickname TEXT;
       CREATE TABLE migration_runs (n INTEGER NOT NULL) STRICT;
       INSERT INTO migration_runs VALUES (1);`,
    ];
    const db = openDb();
    expect(migrate(db, next)).toBe(next.length);
    expect(schemaVersion(db)).toBe(next.length);
    // Run again: already at the latest, so the new migration does not run a second time.
    expect(migrate(db, next)).toBe(next.length);
    expect(db.prepare('SELECT count(*) AS n FROM migration_runs').get()).toEqual({ n: 1 });
    expect(db.prepare('SELECT name, extension, nickname FROM mailbox').all()).toEqual([
      { name: 'alice', extension: '201', nickname: null },
    ]);
    expect(db.prepare('SELECT id, mailbox_id FROM message').all()).toEqual([
      { id: message!.id, mailbox_id: mailbox.id },
    ]);
  });

  it('refuse a store made by a newer Voicegate, clearly', async () => {
    const db = openDb();
    migrate(db);
    db.exec(`PRAGMA user_version = ${MIGRATIONS.length + 1}`);

    let refusal: unknown;
    try {
      open.push(new SqliteStore(dbFile).db);
    } catch (err) {
      refusal = err;
    }
    expect(
      isVoicegateError(refusal, 'INVALID_STATE'),
      `expected INVALID_STATE, got ${String(refusal)}`,
    ).toBe(true);
    expect((refusal as Error).message).toBe(
      `the store's schema is version ${MIGRATIONS.length + 1}, newer than this Voicegate knows (${MIGRATIONS.length}); upgrade Voicegate`,
    );
    expect(schemaVersion(db)).toBe(MIGRATIONS.length + 1);

    // What an administrator sees from the CLI.
    const result = await runCli(['--config', data.configFile, 'mailbox', 'list']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`voicegate: ${(refusal as Error).message}\n`);
  });

  it('roll a failing migration back whole', async () => {
    const db = openDb();
    migrate(db);
    db.prepare(
      "INSERT INTO journal (mailbox_id, modseq, kind, at) VALUES (1, 1, 'mailbox', 0)",
    ).run();

    const broken = [
      ...MIGRATIONS,
      `CREATE TABLE half_done (x INTEGER) STRICT;
       DELETE FROM journal;
       INSERT INTO no_such_table VALUES (1);`,
    ];
    expect(() => migrate(db, broken)).toThrow(/no such table: no_such_table/);
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    expect(tables(db)).not.toContain('half_done');
    expect(db.prepare('SELECT count(*) AS n FROM journal').get()).toEqual({ n: 1 });
    expect(db.isTransaction).toBe(false);

    // The store still opens and works at the old version.
    const store = new SqliteStore(dbFile);
    open.push(store.db);
    expect(schemaVersion(store.db)).toBe(MIGRATIONS.length);
  });
});

describe('migration 2: IMAP folders and UIDs', () => {
  it('numbers existing messages per folder and sets the counters', () => {
    const db = openDb();
    migrate(db, MIGRATIONS.slice(0, 1));
    db.exec(`INSERT INTO mailbox (id, kind, name, code_hash, locale, time_zone, created_at)
             VALUES (1, 'user', 'alice', 'x', 'en-US', 'UTC', 1700000000000)`);
    const add =
      db.prepare(`INSERT INTO message (id, mailbox_id, kind, received_at, audio_key, audio_format, audio_bytes,
        duration_ms, state, deleted_from, state_changed_at, origin_server, modseq)
      VALUES (?, 1, 'message', ?, 'k', 'wav/pcm16/8000', 1, 1000, ?, ?, 0, 'vg', 1)`);
    add.run('c', 3000, 'new', null);
    add.run('a', 1000, 'old', null);
    add.run('d', 4000, 'deleted', 'saved');
    add.run('b', 2000, 'deleted', 'new');
    migrate(db);
    const rows = db.prepare('SELECT id, folder, uid FROM message ORDER BY id').all();
    expect(rows.map((r) => [r.id, r.folder, r.uid])).toEqual([
      ['a', 'inbox', 1],
      ['b', 'trash', 1],
      ['c', 'inbox', 2],
      ['d', 'trash', 2],
    ]);
    expect(
      db.prepare('SELECT uid_validity, uid_next_inbox, uid_next_trash FROM mailbox').get(),
    ).toEqual({
      uid_validity: 1700000000,
      uid_next_inbox: 3,
      uid_next_trash: 3,
    });
  });
});

describe('migration 6: voicemail identities', () => {
  it('gives stored messages and queued mails an identity, and records their deposits', async () => {
    const db = openDb();
    migrate(db, MIGRATIONS.slice(0, 5));
    db.exec(`INSERT INTO mailbox (id, kind, name, code_hash, locale, time_zone, created_at)
             VALUES (1, 'user', 'alice', 'x', 'en-US', 'UTC', 1700000000000)`);
    const add =
      db.prepare(`INSERT INTO message (id, mailbox_id, kind, received_at, audio_key, audio_format, audio_bytes,
        duration_ms, state, state_changed_at, origin_server, modseq, uid)
      VALUES (?, 1, 'message', ?, 'k', 'wav/pcm16/8000', 1, 1000, 'new', 0, 'site-a', 1, ?)`);
    add.run('m1', 1000, 1);
    add.run('m2', 2000, 2);
    const mail =
      db.prepare(`INSERT INTO outbox (kind, mailbox_id, recipient, voicemail_id, message_id, received_at,
        audio_key, audio_format, audio_bytes, duration_ms, priority, private, next_attempt_at, created_at)
      VALUES (?, 1, 'a@example.com', ?, ?, 0, 'k', 'wav/pcm16/8000', 1, 1000, 'normal', 0, 0, 5000)`);
    mail.run('copy', 'm1', 'm1');
    mail.run('forward', 'f1', null);
    migrate(db, MIGRATIONS.slice(0, 6));

    expect(db.prepare('SELECT id, identity FROM message ORDER BY id').all()).toEqual([
      { id: 'm1', identity: 'm1@site-a' },
      { id: 'm2', identity: 'm2@site-a' },
    ]);
    expect(db.prepare('SELECT kind, identity FROM outbox ORDER BY id').all()).toEqual([
      { kind: 'copy', identity: 'm1@site-a' },
      { kind: 'forward', identity: 'f1@voicegate' },
    ]);
    expect(db.prepare('SELECT * FROM deposit ORDER BY identity').all()).toEqual([
      { mailbox_id: 1, identity: 'f1@voicegate', at: 5000 },
      { mailbox_id: 1, identity: 'm1@site-a', at: 1000 },
      { mailbox_id: 1, identity: 'm2@site-a', at: 2000 },
    ]);

    // The store opens on it and recognises a resend of a message stored before the upgrade.
    const store = new SqliteStore(dbFile);
    open.push(store.db);
    const [before] = await store.listMessages(1);
    const again = await store.addMessages([{ ...before!, id: 'm9' }], 9000);
    expect(again).toEqual({ messages: [before], repeated: 1, unusedAudio: [] });
  });
});

describe('the delivery queue migration', () => {
  it('keeps queued and bounced mail as smtp deliveries, ids rising on from the outbox', async () => {
    const at = MIGRATIONS.findIndex((m) => m.includes('CREATE TABLE delivery'));
    expect(at).toBeGreaterThan(0);
    const db = openDb();
    migrate(db, MIGRATIONS.slice(0, at));
    db.exec(`INSERT INTO mailbox (id, kind, name, code_hash, locale, time_zone, created_at)
             VALUES (1, 'user', 'alice', 'x', 'en-US', 'UTC', 1700000000000)`);
    const add = db.prepare(`INSERT INTO outbox (id, kind, mailbox_id, recipient, voicemail_id,
        message_id, caller_number, caller_name, received_at, audio_key, audio_format, audio_bytes,
        duration_ms, priority, private, status, attempts, next_attempt_at, last_error, created_at)
      VALUES (?, ?, 1, ?, ?, NULL, '+331', NULL, 1000, ?, 'wav/pcm16/8000', 10, 1000, 'normal', 0,
        ?, ?, 5000, ?, 900)`);
    add.run(3, 'forward', 'a@example.com', 'v-3', 'k3', 'pending', 2, '451 later');
    add.run(4, 'copy', 'b@example.com', 'v-4', 'k4', 'failed', 1, '550 no');
    // Sent and removed: its number is not given out again.
    add.run(9, 'alert', 'c@example.com', 'v-9', 'k9', 'pending', 0, null);
    db.exec('DELETE FROM outbox WHERE id = 9');
    db.close();
    open.splice(open.indexOf(db), 1);

    const store = new SqliteStore(dbFile);
    open.push(store.db);
    expect(tables(store.db)).not.toContain('outbox');
    expect(await store.listDeliveries()).toMatchObject([
      {
        id: 3,
        target: 'smtp',
        kind: 'forward',
        recipient: 'a@example.com',
        voicemailId: 'v-3',
        audio: { key: 'k3', bytes: 10 },
        status: 'pending',
        attempts: 2,
        nextAttemptAt: 5000,
        lastError: '451 later',
        createdAt: 900,
        lease: null,
      },
      { id: 4, target: 'smtp', kind: 'copy', status: 'failed', lastError: '550 no' },
    ]);
    const [next] = await store.listDeliveries();
    await store.queueDelivery({ ...next!, recipient: 'd@example.com' }, 6000);
    expect((await store.listDeliveries()).map((d) => d.id)).toEqual([3, 4, 10]);
    expect(store.referencedAudio()).toEqual(new Set(['k3', 'k4']));
  });
});

describe('the Exchange migration', () => {
  it('keeps the queue with its ids, takes update items, and starts every mailbox at home here', async () => {
    const at = MIGRATIONS.findIndex((m) => m.includes('CREATE TABLE mailbox_home'));
    expect(at).toBeGreaterThan(0);
    const db = openDb();
    migrate(db, MIGRATIONS.slice(0, at));
    db.exec(`INSERT INTO mailbox (id, kind, name, code_hash, locale, time_zone, created_at)
             VALUES (1, 'user', 'alice', 'x', 'en-US', 'UTC', 1700000000000)`);
    const add = db.prepare(`INSERT INTO delivery (id, target, kind, mailbox_id, recipient,
        voicemail_id, identity, received_at, audio_key, audio_format, audio_bytes, duration_ms,
        priority, private, next_attempt_at, created_at)
      VALUES (?, 'smtp', 'copy', 1, 'a@example.com', ?, ?, 1000, ?, 'wav/pcm16/8000', 10, 1000,
        'normal', 0, 5000, 900)`);
    add.run(5, 'v-5', 'v-5@x', 'k5');
    add.run(8, 'v-8', 'v-8@x', 'k8');
    db.exec('DELETE FROM delivery WHERE id = 8');
    db.close();
    open.splice(open.indexOf(db), 1);

    const store = new SqliteStore(dbFile);
    open.push(store.db);
    expect(await store.getMailboxHome(1)).toEqual({
      home: 'local',
      exchangeAddress: null,
      exchangeConnection: null,
    });
    const [kept] = await store.listDeliveries();
    expect(kept).toMatchObject({ id: 5, kind: 'copy', recipient: 'a@example.com' });
    await store.queueDelivery(
      { ...(kept as Delivery), target: 'graph', kind: 'update' as 'copy' },
      6000,
    );
    expect((await store.listDeliveries()).map((d) => [d.id, d.kind])).toEqual([
      [5, 'copy'],
      [9, 'update'],
    ]);
  });
});

describe('the migration of the old e-mail mode "exchange"', () => {
  it('puts its mailboxes at home in Exchange at their address, mode off, and keeps set homes', async () => {
    const at = MIGRATIONS.findIndex((m) => m.includes("WHERE email_mode = 'exchange'"));
    expect(at).toBeGreaterThan(0);
    const db = openDb();
    migrate(db, MIGRATIONS.slice(0, at));
    const add = db.prepare(`INSERT INTO mailbox (id, kind, name, code_hash, email, email_mode,
        locale, time_zone, created_at) VALUES (?, 'user', ?, 'x', ?, ?, 'en-US', 'UTC', 0)`);
    add.run(1, 'erin', 'erin@contoso.example', 'exchange');
    add.run(2, 'frank', 'frank@example.com', 'copy');
    add.run(3, 'gina', 'gina@contoso.example', 'exchange');
    add.run(4, 'hal', 'hal@contoso.example', 'exchange');
    // Gina's home was set already (it stays); Hal's says local (the old mode wins).
    db.exec(`INSERT INTO mailbox_home (mailbox_id, home, exchange_address, exchange_connection)
      VALUES (3, 'exchange', 'g.other@contoso.example', 'online'), (4, 'local', NULL, NULL)`);
    db.close();
    open.splice(open.indexOf(db), 1);

    const store = new SqliteStore(dbFile);
    open.push(store.db);
    const mode = async (id: number) => (await store.getMailbox(id))?.emailMode;
    expect([await mode(1), await mode(2), await mode(3), await mode(4)]).toEqual([
      'off',
      'copy',
      'off',
      'off',
    ]);
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
    expect(await store.getMailboxHome(4)).toMatchObject({
      home: 'exchange',
      exchangeAddress: 'hal@contoso.example',
    });
  });
});

describe('migration 9', () => {
  it('indexes the callers of messages stored before it, and reads pages from indexes', async () => {
    const db = new DatabaseSync(dbFile);
    const before = MIGRATIONS.findIndex((m) => m.includes('message_caller'));
    migrate(db, MIGRATIONS.slice(0, before));
    db.exec(`INSERT INTO mailbox (kind, name, code_hash, locale, time_zone, created_at)
      VALUES ('user', 'alice', 'h', 'en-US', 'UTC', 0)`);
    db.exec(`INSERT INTO message (id, identity, mailbox_id, kind, caller_number, caller_name,
      received_at, audio_key, audio_format, audio_bytes, duration_ms, state, state_changed_at,
      origin_server, modseq, folder, uid)
      VALUES ('m1', 'm1@x', 1, 'message', '+15550199', 'Old Caller', 1, 'k', 'wav', 1, 1, 'new', 1,
      'x', 1, 'inbox', 1)`);
    db.close();
    const store = new SqliteStore(dbFile);
    open.push(store.db);
    const page = await store.queryMessages(1, {
      states: ['new'],
      order: 'newest',
      caller: 'old call',
      limit: 10,
    });
    expect(page.messages.map((m) => m.id)).toEqual(['m1']);
    const plan = (sql: string): string =>
      (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(1) as { detail: string }[])
        .map((r) => r.detail)
        .join('; ');
    expect(
      plan(`SELECT * FROM message WHERE mailbox_id = ? AND state IN ('new')
        ORDER BY received_at DESC, id DESC LIMIT 50`),
    ).toMatch(/USING INDEX message_in_order/);
    expect(
      plan(`SELECT * FROM message WHERE mailbox_id = ? AND state IN ('new')
        ORDER BY priority, received_at DESC, id DESC LIMIT 50`),
    ).toMatch(/USING INDEX message_by_priority/);
    expect(
      plan(
        `SELECT * FROM message WHERE mailbox_id = ? ORDER BY priority, received_at DESC, id DESC`,
      ),
    ).not.toMatch(/TEMP B-TREE/);
  });
});
