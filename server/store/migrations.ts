import type { DatabaseSync } from 'node:sqlite';
import { VoicegateError } from '../domain/errors.ts';

/**
 * Versioned schema migrations, applied in order inside one transaction each. The version is kept
 * in SQLite's user_version. Never edit a released migration: add the next one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: mailboxes, groups, messages, greetings, the change journal
  `
  CREATE TABLE mailbox (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'group')),
    name TEXT NOT NULL UNIQUE,
    extension TEXT UNIQUE,
    full_name TEXT NOT NULL DEFAULT '',
    code_hash TEXT NOT NULL,
    email TEXT,
    email_mode TEXT NOT NULL DEFAULT 'off',
    ums_access INTEGER NOT NULL DEFAULT 1,
    locale TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    trusted_numbers TEXT NOT NULL DEFAULT '[]',
    breakouts TEXT NOT NULL DEFAULT '{}',
    broadcast INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    modseq INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE group_member (
    group_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, member_id)
  ) STRICT;
  CREATE TABLE message (
    id TEXT PRIMARY KEY,
    mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('message', 'recording')),
    caller_number TEXT,
    caller_name TEXT,
    received_at INTEGER NOT NULL,
    audio_key TEXT NOT NULL,
    audio_format TEXT NOT NULL,
    audio_bytes INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('new', 'unopened', 'old', 'saved', 'deleted')),
    deleted_from TEXT,
    state_changed_at INTEGER NOT NULL,
    priority TEXT NOT NULL DEFAULT 'normal',
    private INTEGER NOT NULL DEFAULT 0,
    origin_server TEXT NOT NULL,
    forwarded_from TEXT,
    modseq INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX message_by_mailbox ON message (mailbox_id, received_at);
  CREATE INDEX message_by_audio ON message (audio_key);
  CREATE TABLE greeting (
    mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    audio_key TEXT NOT NULL,
    audio_format TEXT NOT NULL,
    audio_bytes INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, kind)
  ) STRICT;
  CREATE TABLE journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox_id INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    message_id TEXT,
    state TEXT,
    at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX journal_by_mailbox ON journal (mailbox_id, modseq);
  `,
  // 2: IMAP folders and UIDs, and cached renditions of messages
  `
  ALTER TABLE mailbox ADD COLUMN uid_validity INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE mailbox ADD COLUMN uid_next_inbox INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE mailbox ADD COLUMN uid_next_trash INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE message ADD COLUMN folder TEXT NOT NULL DEFAULT 'inbox' CHECK (folder IN ('inbox', 'trash'));
  ALTER TABLE message ADD COLUMN uid INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE message ADD COLUMN purge_mark INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE journal ADD COLUMN folder TEXT;
  ALTER TABLE journal ADD COLUMN uid INTEGER;
  UPDATE message SET folder = CASE state WHEN 'deleted' THEN 'trash' ELSE 'inbox' END;
  UPDATE message SET uid = numbered.n FROM (
    SELECT id, ROW_NUMBER() OVER (PARTITION BY mailbox_id, folder ORDER BY received_at, id) AS n FROM message
  ) AS numbered WHERE message.id = numbered.id;
  UPDATE mailbox SET
    uid_validity = MAX(1, created_at / 1000 % 2147483647),
    uid_next_inbox = 1 + COALESCE((SELECT MAX(uid) FROM message WHERE mailbox_id = mailbox.id AND folder = 'inbox'), 0),
    uid_next_trash = 1 + COALESCE((SELECT MAX(uid) FROM message WHERE mailbox_id = mailbox.id AND folder = 'trash'), 0);
  CREATE UNIQUE INDEX message_by_uid ON message (mailbox_id, folder, uid);
  CREATE TABLE rendition (
    message_id TEXT NOT NULL REFERENCES message(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (message_id, kind)
  ) STRICT;
  `,
  // 3: web sessions, the active greeting
  `
  ALTER TABLE mailbox ADD COLUMN active_greeting TEXT NOT NULL DEFAULT 'unavailable';
  CREATE TABLE web_session (
    token_hash TEXT PRIMARY KEY,
    mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX web_session_by_mailbox ON web_session (mailbox_id);
  `,
  // 4: the outbound mail queue
  `
  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('copy', 'forward', 'alert', 'manual')),
    mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    voicemail_id TEXT NOT NULL,
    message_id TEXT,
    caller_number TEXT,
    caller_name TEXT,
    received_at INTEGER NOT NULL,
    audio_key TEXT NOT NULL,
    audio_format TEXT NOT NULL,
    audio_bytes INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    priority TEXT NOT NULL,
    private INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
  CREATE INDEX outbox_by_audio ON outbox (audio_key);
  ALTER TABLE message ADD COLUMN email_error TEXT;
  -- Lists come in playback order: no sort of the whole mailbox per request.
  CREATE INDEX message_in_order ON message (mailbox_id, received_at, id);
  `,
  // 5: phones' SIP digest credentials, kept only as H(extension:realm:password)
  `
  ALTER TABLE mailbox ADD COLUMN sip_realm TEXT;
  ALTER TABLE mailbox ADD COLUMN sip_ha1_md5 TEXT;
  ALTER TABLE mailbox ADD COLUMN sip_ha1_sha256 TEXT;
  `,
  // 6: every voicemail's global identity (its Message-ID), and the deposits made, so that a
  // resend is recognised in the transaction that would store it. Messages stored before get
  // `<id>@<origin server>`; mails queued before, their message's identity (a forward, which has
  // none, its own id at this server's default name).
  `
  ALTER TABLE message ADD COLUMN identity TEXT NOT NULL DEFAULT '';
  UPDATE message SET identity = id || '@' || origin_server;
  CREATE INDEX message_by_identity ON message (mailbox_id, identity);
  ALTER TABLE outbox ADD COLUMN identity TEXT NOT NULL DEFAULT '';
  UPDATE outbox SET identity = COALESCE(
    (SELECT identity FROM message WHERE message.id = outbox.message_id),
    voicemail_id || '@voicegate');
  CREATE TABLE deposit (
    mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
    identity TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, identity)
  ) STRICT;
  INSERT INTO deposit (mailbox_id, identity, at)
    SELECT mailbox_id, identity, MIN(received_at) FROM message GROUP BY mailbox_id, identity;
  INSERT OR IGNORE INTO deposit (mailbox_id, identity, at)
    SELECT mailbox_id, identity, created_at FROM outbox WHERE kind = 'forward';
  `,
  // 7: the delivery queue: the outbound mail queue becomes a queue of deliveries to target
  // kinds, claimed with leases. Queued and bounced mail is kept, as smtp deliveries with the
  // same ids and identities.
  `
  CREATE TABLE delivery (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL CHECK (target IN ('smtp', 'ews', 'graph', 'peer')),
    kind TEXT NOT NULL CHECK (kind IN ('copy', 'forward', 'alert', 'manual')),
    mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    payload TEXT,
    voicemail_id TEXT NOT NULL,
    identity TEXT NOT NULL,
    message_id TEXT,
    caller_number TEXT,
    caller_name TEXT,
    received_at INTEGER NOT NULL,
    audio_key TEXT NOT NULL,
    audio_format TEXT NOT NULL,
    audio_bytes INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    priority TEXT NOT NULL,
    private INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    lease_holder TEXT,
    lease_until INTEGER
  ) STRICT;
  INSERT INTO delivery (id, target, kind, mailbox_id, recipient, voicemail_id, identity,
    message_id, caller_number, caller_name, received_at, audio_key, audio_format, audio_bytes,
    duration_ms, priority, private, status, attempts, next_attempt_at, last_error, created_at)
  SELECT id, 'smtp', kind, mailbox_id, recipient, voicemail_id, identity, message_id, caller_number,
    caller_name, received_at, audio_key, audio_format, audio_bytes, duration_ms, priority,
    private, status, attempts, next_attempt_at, last_error, created_at FROM outbox;
  -- Ids go on rising from the outbox's: a number once shown by queue list is never reused.
  DELETE FROM sqlite_sequence WHERE name = 'delivery';
  INSERT INTO sqlite_sequence (name, seq) SELECT 'delivery', seq FROM sqlite_sequence WHERE name = 'outbox';
  DROP TABLE outbox;
  CREATE INDEX delivery_due ON delivery (target, status, next_attempt_at);
  CREATE INDEX delivery_by_audio ON delivery (audio_key);
  CREATE INDEX delivery_by_mailbox ON delivery (mailbox_id);
  `,
  // 8: Exchange: where each mailbox's voicemail lives, the Exchange item each voicemail became
  // (the local message is then its shadow), and where reading Exchange's changes back got to.
  // The delivery queue also takes `update` items (a user's action written through to the item),
  // so its kind check is widened; SQLite changes a CHECK only by copying the table.
  `
  CREATE TABLE mailbox_home (
    mailbox_id INTEGER PRIMARY KEY REFERENCES mailbox(id) ON DELETE CASCADE,
    home TEXT NOT NULL CHECK (home IN ('local', 'exchange')),
    exchange_address TEXT,
    exchange_connection TEXT,
    sync_state TEXT
  ) STRICT;
  CREATE TABLE exchange_item (
    message_id TEXT PRIMARY KEY REFERENCES message(id) ON DELETE CASCADE,
    mailbox_id INTEGER NOT NULL,
    item_id TEXT NOT NULL,
    change_key TEXT
  ) STRICT;
  CREATE INDEX exchange_item_by_item ON exchange_item (mailbox_id, item_id);
  CREATE TABLE delivery_v8 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL CHECK (target IN ('smtp', 'ews', 'graph', 'peer')),
    kind TEXT NOT NULL CHECK (kind IN ('copy', 'forward', 'alert', 'manual', 'update')),
    mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    payload TEXT,
    voicemail_id TEXT NOT NULL,
    identity TEXT NOT NULL,
    message_id TEXT,
    caller_number TEXT,
    caller_name TEXT,
    received_at INTEGER NOT NULL,
    audio_key TEXT NOT NULL,
    audio_format TEXT NOT NULL,
    audio_bytes INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    priority TEXT NOT NULL,
    private INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    lease_holder TEXT,
    lease_until INTEGER
  ) STRICT;
  INSERT INTO delivery_v8 SELECT * FROM delivery;
  -- Ids go on rising: a number once shown by queue list is never reused.
  DELETE FROM sqlite_sequence WHERE name = 'delivery_v8';
  INSERT INTO sqlite_sequence (name, seq) SELECT 'delivery_v8', seq FROM sqlite_sequence WHERE name = 'delivery';
  DROP TABLE delivery;
  ALTER TABLE delivery_v8 RENAME TO delivery;
  CREATE INDEX delivery_due ON delivery (target, status, next_attempt_at);
  CREATE INDEX delivery_by_audio ON delivery (audio_key);
  CREATE INDEX delivery_by_mailbox ON delivery (mailbox_id);
  `,
  // 9 (8 is Exchange's): the web list's searches. Newest first reads message_in_order
  // backwards; priority first has its own index, counts another; a caller's name or number is found through a
  // trigram index (any part of 3 characters or more) instead of reading every message.
  `
  CREATE INDEX message_by_priority ON message (mailbox_id, priority, received_at DESC, id DESC);
  -- Counts (per state, and a search's total) read this index alone, never the messages.
  CREATE INDEX message_by_state ON message (mailbox_id, state, priority, private, received_at);
  CREATE VIRTUAL TABLE message_caller USING fts5(
    caller_name, caller_number, content = 'message', content_rowid = 'rowid', tokenize = 'trigram'
  );
  INSERT INTO message_caller (rowid, caller_name, caller_number)
    SELECT rowid, caller_name, caller_number FROM message;
  CREATE TRIGGER message_caller_added AFTER INSERT ON message BEGIN
    INSERT INTO message_caller (rowid, caller_name, caller_number)
      VALUES (new.rowid, new.caller_name, new.caller_number);
  END;
  CREATE TRIGGER message_caller_removed AFTER DELETE ON message BEGIN
    INSERT INTO message_caller (message_caller, rowid, caller_name, caller_number)
      VALUES ('delete', old.rowid, old.caller_name, old.caller_number);
  END;
  CREATE TRIGGER message_caller_changed AFTER UPDATE OF caller_name, caller_number ON message BEGIN
    INSERT INTO message_caller (message_caller, rowid, caller_name, caller_number)
      VALUES ('delete', old.rowid, old.caller_name, old.caller_number);
    INSERT INTO message_caller (rowid, caller_name, caller_number)
      VALUES (new.rowid, new.caller_name, new.caller_number);
  END;
`,
  // E-mail reading: per mailbox, where its owner's e-mail is read from by phone; the account as
  // JSON, its password or token sealed under the server's key (never in clear here).
  `
  CREATE TABLE email_reading (
    mailbox_id INTEGER PRIMARY KEY REFERENCES mailbox(id) ON DELETE CASCADE,
    source TEXT NOT NULL CHECK (source IN ('imap', 'exchange')),
    account TEXT,
    sealed_secret TEXT
  ) STRICT;
`,
  // Administrators (principals of their own, with their own lockout and sessions) and the
  // audit trail, searched newest first by mailbox, kind or time.
  `
  CREATE TABLE admin (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    totp_secret TEXT,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE admin_session (
    token_hash TEXT PRIMARY KEY,
    admin_id INTEGER NOT NULL REFERENCES admin(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX admin_session_by_admin ON admin_session (admin_id);
  CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    principal TEXT,
    mailbox TEXT,
    client TEXT,
    outcome TEXT NOT NULL,
    reason TEXT,
    details TEXT
  ) STRICT;
  CREATE INDEX audit_by_time ON audit (at);
  CREATE INDEX audit_by_mailbox ON audit (mailbox, id);
  CREATE INDEX audit_by_kind ON audit (kind, id);
`,
  // The web app's preferences of each mailbox's owner (the list's order), on the server so they
  // follow the owner to every browser. A mailbox that never chose has no row.
  `
  CREATE TABLE web_preference (
    mailbox_id INTEGER PRIMARY KEY REFERENCES mailbox(id) ON DELETE CASCADE,
    list_order TEXT NOT NULL CHECK (list_order IN ('newest', 'oldest', 'priority'))
  ) STRICT;
`,
  // The time step of each administrator's last one-time code taken: a code is good once.
  `
  ALTER TABLE admin ADD COLUMN totp_step INTEGER;
`,
  // The queue also takes notices: plain mail from the server to an administrator (alarms), with
  // no mailbox, voicemail or audio, their text in payload. SQLite relaxes NOT NULL and a CHECK
  // only by copying the table; the columns are named, so the copy holds whatever came before.
  `
  CREATE TABLE delivery_notice (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL CHECK (target IN ('smtp', 'ews', 'graph', 'peer')),
    kind TEXT NOT NULL CHECK (kind IN ('copy', 'forward', 'alert', 'manual', 'update', 'notice')),
    mailbox_id INTEGER REFERENCES mailbox(id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    payload TEXT,
    voicemail_id TEXT,
    identity TEXT,
    message_id TEXT,
    caller_number TEXT,
    caller_name TEXT,
    received_at INTEGER,
    audio_key TEXT,
    audio_format TEXT,
    audio_bytes INTEGER,
    duration_ms INTEGER,
    priority TEXT,
    private INTEGER,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    lease_holder TEXT,
    lease_until INTEGER,
    -- A notice carries no voicemail; every other item carries one whole.
    CHECK ((kind = 'notice') = (mailbox_id IS NULL)),
    CHECK (kind = 'notice' OR (voicemail_id IS NOT NULL AND identity IS NOT NULL
      AND received_at IS NOT NULL AND audio_key IS NOT NULL AND audio_format IS NOT NULL
      AND audio_bytes IS NOT NULL AND duration_ms IS NOT NULL AND priority IS NOT NULL
      AND private IS NOT NULL))
  ) STRICT;
  INSERT INTO delivery_notice (id, target, kind, mailbox_id, recipient, payload, voicemail_id,
    identity, message_id, caller_number, caller_name, received_at, audio_key, audio_format,
    audio_bytes, duration_ms, priority, private, status, attempts, next_attempt_at, last_error,
    created_at, lease_holder, lease_until)
  SELECT id, target, kind, mailbox_id, recipient, payload, voicemail_id, identity, message_id,
    caller_number, caller_name, received_at, audio_key, audio_format, audio_bytes, duration_ms,
    priority, private, status, attempts, next_attempt_at, last_error, created_at, lease_holder,
    lease_until FROM delivery;
  -- Ids go on rising: a number once shown by queue list is never reused.
  DELETE FROM sqlite_sequence WHERE name = 'delivery_notice';
  INSERT INTO sqlite_sequence (name, seq) SELECT 'delivery_notice', seq FROM sqlite_sequence WHERE name = 'delivery';
  DROP TABLE delivery;
  ALTER TABLE delivery_notice RENAME TO delivery;
  CREATE INDEX delivery_due ON delivery (target, status, next_attempt_at);
  CREATE INDEX delivery_by_audio ON delivery (audio_key);
  CREATE INDEX delivery_by_mailbox ON delivery (mailbox_id);
`,
  // The old e-mail mode `exchange` (voicemail kept for Exchange, no mail) is the mailbox's home
  // now: each such mailbox is at home in Exchange at its e-mail address, its mode off. The old
  // mode named no connection, and the config is not here: start-up gives the only one configured,
  // or says which mailboxes need --exchange-connection. A home set already stays as it is.
  `
  INSERT INTO mailbox_home (mailbox_id, home, exchange_address, exchange_connection)
    SELECT id, 'exchange', email, NULL FROM mailbox
    WHERE email_mode = 'exchange' AND email IS NOT NULL AND email <> ''
  ON CONFLICT (mailbox_id) DO UPDATE SET home = 'exchange',
    exchange_address = excluded.exchange_address, exchange_connection = NULL, sync_state = NULL
    WHERE mailbox_home.home <> 'exchange';
  UPDATE mailbox SET email_mode = 'off' WHERE email_mode = 'exchange';
  `,
];

export function schemaVersion(db: DatabaseSync): number {
  return Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
}

export function migrate(db: DatabaseSync, migrations: readonly string[] = MIGRATIONS): number {
  const current = schemaVersion(db);
  if (current > migrations.length) {
    throw new VoicegateError(
      'INVALID_STATE',
      `the store's schema is version ${current}, newer than this Voicegate knows (${migrations.length}); upgrade Voicegate`,
    );
  }
  for (let v = current; v < migrations.length; v++) {
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(migrations[v]!);
      db.exec(`PRAGMA user_version = ${v + 1}`);
      db.exec('COMMIT');
    } catch (err) {
      // SQLite may already have rolled back (disk full, I/O error): keep the real cause.
      if (db.isTransaction) db.exec('ROLLBACK');
      throw err;
    }
  }
  return migrations.length;
}
