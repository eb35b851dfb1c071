import { VoicegateError } from '../domain/errors.ts';
import type { MailboxChanges, MailboxRecord, SipCredentials } from '../domain/mailbox.ts';
import type { MailboxStore, NewMailbox } from '../domain/ports.ts';
import { MAILBOX_COLUMNS, type SqlAccess, type SqlValue } from './sql-access.ts';
import { rowToMailbox, type MailboxRow } from './rows.ts';
import { reserveLoginSql } from './login-window.ts';

/** Mailboxes and hunt-group membership. */
export class MailboxTable implements MailboxStore {
  readonly #db: SqlAccess;
  constructor(db: SqlAccess) {
    this.#db = db;
  }

  async createMailbox(m: NewMailbox): Promise<MailboxRecord> {
    return this.#db.tx(() => {
      const row = this.#db
        .sql(
          `INSERT INTO mailbox (kind, name, extension, full_name, code_hash, email, email_mode, ums_access, locale,
             time_zone, trusted_numbers, breakouts, broadcast, created_at, uid_validity, active_greeting)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
        )
        .get(
          m.kind,
          m.name,
          m.extension,
          m.fullName,
          m.codeHash,
          m.email,
          m.emailMode,
          m.umsAccess ? 1 : 0,
          m.locale,
          m.timeZone,
          JSON.stringify(m.trustedNumbers),
          JSON.stringify(m.breakouts),
          m.broadcast ? 1 : 0,
          Date.now(),
          // UIDVALIDITY: seconds since 1970, as Dovecot does; a re-created mailbox gets a new one.
          Math.floor(Date.now() / 1000),
          m.activeGreeting,
        ) as unknown as MailboxRow;
      this.#db.journal(row.id, 'mailbox', null, null, Date.now());
      return rowToMailbox(row);
    });
  }

  async updateMailbox(id: number, changes: MailboxChanges): Promise<MailboxRecord> {
    const sets: string[] = [];
    const values: SqlValue[] = [];
    for (const [key, value] of Object.entries(changes)) {
      const column = MAILBOX_COLUMNS[key as keyof MailboxChanges];
      if (!column || value === undefined) continue;
      sets.push(`${column[0]} = ?`);
      values.push(column[1](value as never));
    }
    return this.#db.tx(() => {
      if (sets.length > 0)
        this.#db.sql(`UPDATE mailbox SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
      this.#db.journal(id, 'mailbox', null, null, Date.now());
      const row = this.#db.sql('SELECT * FROM mailbox WHERE id = ?').get(id) as unknown as
        MailboxRow | undefined;
      if (!row) throw new VoicegateError('NOT_FOUND', 'mailbox no longer exists');
      return rowToMailbox(row);
    });
  }

  async setCodeHash(id: number, codeHash: string): Promise<void> {
    this.#db.tx(() =>
      this.#db.sql('UPDATE mailbox SET code_hash = ? WHERE id = ?').run(codeHash, id),
    );
  }

  async setSipCredentials(id: number, sip: SipCredentials | null): Promise<void> {
    this.#db.tx(() => {
      this.#db
        .sql('UPDATE mailbox SET sip_realm = ?, sip_ha1_md5 = ?, sip_ha1_sha256 = ? WHERE id = ?')
        .run(sip?.realm ?? null, sip?.ha1Md5 ?? null, sip?.ha1Sha256 ?? null, id);
    });
  }

  // A log-in's writes are on the way of its reply: shared commits, the WAL fsynced off the main
  // thread, so that other sessions' greetings and commands do not wait for the disk.
  async setLoginState(id: number, failures: number, lockedUntil: number | null): Promise<void> {
    await this.#db.groupTx(() =>
      this.#db
        .sql('UPDATE mailbox SET failed_logins = ?, locked_until = ? WHERE id = ?')
        .run(failures, lockedUntil, id),
    );
  }

  async reserveLogin(
    id: number,
    now: number,
    limit: number,
    lockUntil: number,
  ): Promise<number | null> {
    // One statement, so concurrent attempts each get their own number: an expired lock starts a
    // new window at 1, and the attempt that takes the last try sets the lock with it.
    const row = await this.#db.groupTx(
      () =>
        this.#db.sql(reserveLoginSql('mailbox', 'sqlite')).get(id, now, limit, lockUntil) as
          { failed_logins: number } | undefined,
    );
    return row ? row.failed_logins : null;
  }

  async recordNoLogin(): Promise<void> {
    // SQLite skips rewriting a row to what it holds, so the count goes up and back down: the
    // page is written and synced as reserveLogin's is, and nothing changes.
    await this.#db.groupTx(() => {
      for (const step of [1, -1])
        this.#db
          .sql(
            'UPDATE mailbox SET failed_logins = failed_logins + ? WHERE id = (SELECT min(id) FROM mailbox)',
          )
          .run(step);
    });
  }

  async removeMailbox(id: number): Promise<string[]> {
    return this.#db.tx(() => {
      const keys = (
        this.#db
          .sql(
            `SELECT audio_key FROM message WHERE mailbox_id = ?1 UNION SELECT audio_key FROM greeting WHERE mailbox_id = ?1
           UNION SELECT audio_key FROM delivery WHERE mailbox_id = ?1`,
          )
          .all(id) as { audio_key: string }[]
      ).map((r) => r.audio_key);
      this.#db.sql('DELETE FROM mailbox WHERE id = ?').run(id);
      this.#db
        .sql(
          "INSERT INTO journal (mailbox_id, modseq, kind, message_id, state, at) VALUES (?, 0, 'mailbox', NULL, NULL, ?)",
        )
        .run(id, Date.now());
      return this.#db.unusedAudio(keys);
    });
  }

  async getMailbox(id: number): Promise<MailboxRecord | null> {
    const row = this.#db.sql('SELECT * FROM mailbox WHERE id = ?').get(id) as unknown as
      MailboxRow | undefined;
    return row ? rowToMailbox(row) : null;
  }

  async findMailbox(nameOrExtension: string): Promise<MailboxRecord | null> {
    const row = (this.#db.sql('SELECT * FROM mailbox WHERE name = ?').get(nameOrExtension) ??
      this.#db.sql('SELECT * FROM mailbox WHERE extension = ?').get(nameOrExtension)) as unknown as
      MailboxRow | undefined;
    return row ? rowToMailbox(row) : null;
  }

  async listMailboxes(): Promise<MailboxRecord[]> {
    const rows = this.#db
      .sql('SELECT * FROM mailbox ORDER BY extension IS NULL, length(extension), extension, name')
      .all();
    return (rows as unknown as MailboxRow[]).map(rowToMailbox);
  }

  async setGroupMembers(groupId: number, memberIds: number[]): Promise<void> {
    this.#db.tx(() => {
      this.#db.sql('DELETE FROM group_member WHERE group_id = ?').run(groupId);
      const add = this.#db.sql('INSERT INTO group_member (group_id, member_id) VALUES (?, ?)');
      for (const id of memberIds) add.run(groupId, id);
      this.#db.journal(groupId, 'mailbox', null, null, Date.now());
    });
  }

  async groupMembers(groupId: number): Promise<number[]> {
    const rows = this.#db
      .sql('SELECT member_id FROM group_member WHERE group_id = ? ORDER BY member_id')
      .all(groupId);
    return (rows as { member_id: number }[]).map((r) => r.member_id);
  }
}
