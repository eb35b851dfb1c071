import { VoicegateError } from '../../domain/errors.ts';
import type { MailboxChanges, MailboxRecord, SipCredentials } from '../../domain/mailbox.ts';
import type { MailboxStore, NewMailbox } from '../../domain/ports.ts';
import { rowToMailbox, type MailboxRow } from '../rows.ts';
import { MAILBOX_COLUMNS } from '../sql-access.ts';
import type { PgAccess } from './pg-access.ts';
import { reserveLoginSql } from '../login-window.ts';

/** Mailboxes and hunt-group membership, in PostgreSQL. */
export class PgMailboxTable implements MailboxStore {
  readonly #db: PgAccess;
  constructor(db: PgAccess) {
    this.#db = db;
  }

  async createMailbox(m: NewMailbox): Promise<MailboxRecord> {
    return this.#db.tx(async (t) => {
      const row = (await t.row<MailboxRow>(
        `INSERT INTO mailbox (kind, name, extension, full_name, code_hash, email, email_mode, ums_access, locale,
           time_zone, trusted_numbers, breakouts, broadcast, created_at, uid_validity, active_greeting)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING *`,
        [
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
        ],
      ))!;
      await this.#db.journal(t, row.id, 'mailbox', null, null, Date.now());
      return rowToMailbox(row);
    });
  }

  async updateMailbox(id: number, changes: MailboxChanges): Promise<MailboxRecord> {
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const [key, value] of Object.entries(changes)) {
      const column = MAILBOX_COLUMNS[key as keyof MailboxChanges];
      if (!column || value === undefined) continue;
      values.push(column[1](value as never));
      sets.push(`${column[0]} = $${values.length}`);
    }
    return this.#db.tx(async (t) => {
      if (sets.length > 0)
        await t.rows(`UPDATE mailbox SET ${sets.join(', ')} WHERE id = $${values.length + 1}`, [
          ...values,
          id,
        ]);
      await this.#db.journal(t, id, 'mailbox', null, null, Date.now());
      const row = await t.row<MailboxRow>('SELECT * FROM mailbox WHERE id = $1', [id]);
      if (!row) throw new VoicegateError('NOT_FOUND', 'mailbox no longer exists');
      return rowToMailbox(row);
    });
  }

  async setCodeHash(id: number, codeHash: string): Promise<void> {
    await this.#db.sql.rows('UPDATE mailbox SET code_hash = $1 WHERE id = $2', [codeHash, id]);
  }

  async setSipCredentials(id: number, sip: SipCredentials | null): Promise<void> {
    await this.#db.sql.rows(
      'UPDATE mailbox SET sip_realm = $1, sip_ha1_md5 = $2, sip_ha1_sha256 = $3 WHERE id = $4',
      [sip?.realm ?? null, sip?.ha1Md5 ?? null, sip?.ha1Sha256 ?? null, id],
    );
  }

  async setLoginState(id: number, failures: number, lockedUntil: number | null): Promise<void> {
    await this.#db.sql.rows(
      'UPDATE mailbox SET failed_logins = $1, locked_until = $2 WHERE id = $3',
      [failures, lockedUntil, id],
    );
  }

  async reserveLogin(
    id: number,
    now: number,
    limit: number,
    lockUntil: number,
  ): Promise<number | null> {
    // One statement under the row's lock: a concurrent attempt waits, then PostgreSQL evaluates
    // it again on the row as the first left it, so each attempt gets its own number.
    const row = await this.#db.sql.row<{ failed_logins: number }>(
      reserveLoginSql('mailbox', 'postgresql'),
      [id, now, limit, lockUntil],
    );
    return row ? row.failed_logins : null;
  }

  async recordNoLogin(): Promise<void> {
    // A committed write of one row, as reserveLogin's is, that leaves it as it was.
    await this.#db.sql.rows(
      'UPDATE mailbox SET failed_logins = failed_logins WHERE id = (SELECT min(id) FROM mailbox)',
    );
  }

  async removeMailbox(id: number): Promise<string[]> {
    return this.#db.tx(async (t) => {
      const keys = (
        await t.rows<{ audio_key: string }>(
          `SELECT audio_key FROM message WHERE mailbox_id = $1 UNION SELECT audio_key FROM greeting WHERE mailbox_id = $1
           UNION SELECT audio_key FROM delivery WHERE mailbox_id = $1`,
          [id],
        )
      ).map((r) => r.audio_key);
      await t.rows('DELETE FROM mailbox WHERE id = $1', [id]);
      await this.#db.journal(t, id, 'mailbox', null, null, Date.now(), null, 0);
      return this.#db.unusedAudio(t, keys);
    });
  }

  async getMailbox(id: number): Promise<MailboxRecord | null> {
    const row = await this.#db.sql.row<MailboxRow>('SELECT * FROM mailbox WHERE id = $1', [id]);
    return row ? rowToMailbox(row) : null;
  }

  async findMailbox(nameOrExtension: string): Promise<MailboxRecord | null> {
    const row =
      (await this.#db.sql.row<MailboxRow>('SELECT * FROM mailbox WHERE name = $1', [
        nameOrExtension,
      ])) ??
      (await this.#db.sql.row<MailboxRow>('SELECT * FROM mailbox WHERE extension = $1', [
        nameOrExtension,
      ]));
    return row ? rowToMailbox(row) : null;
  }

  async listMailboxes(): Promise<MailboxRecord[]> {
    // The embedded store's order: extensions by length then text (201 before 1000), then names;
    // COLLATE "C" compares as SQLite does, byte by byte.
    const rows = await this.#db.sql.rows<MailboxRow>(
      `SELECT * FROM mailbox ORDER BY extension IS NULL, length(extension), extension COLLATE "C", name COLLATE "C"`,
    );
    return rows.map(rowToMailbox);
  }

  async setGroupMembers(groupId: number, memberIds: number[]): Promise<void> {
    await this.#db.tx(async (t) => {
      await t.rows('DELETE FROM group_member WHERE group_id = $1', [groupId]);
      if (memberIds.length > 0)
        await t.rows(
          'INSERT INTO group_member (group_id, member_id) SELECT $1, unnest($2::int[])',
          [groupId, memberIds],
        );
      await this.#db.journal(t, groupId, 'mailbox', null, null, Date.now());
    });
  }

  async groupMembers(groupId: number): Promise<number[]> {
    const rows = await this.#db.sql.rows<{ member_id: number }>(
      'SELECT member_id FROM group_member WHERE group_id = $1 ORDER BY member_id',
      [groupId],
    );
    return rows.map((r) => r.member_id);
  }
}
