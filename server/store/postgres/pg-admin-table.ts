import type { AdminRecord, AdminSession } from '../../domain/admin.ts';
import { VoicegateError } from '../../domain/errors.ts';
import type { AdminStore } from '../../domain/ports.ts';
import {
  LAST_ADMIN,
  rowToAdmin,
  rowToAdminSession,
  type AdminRow,
  type AdminSessionRow,
} from '../admin-table.ts';
import type { PgAccess } from './pg-access.ts';
import { reserveLoginSql } from '../login-window.ts';

/** Administrators and their web sessions in PostgreSQL. */
export class PgAdminTable implements AdminStore {
  readonly #db: PgAccess;
  constructor(db: PgAccess) {
    this.#db = db;
  }

  async createAdmin(input: {
    name: string;
    passwordHash: string;
    createdAt: number;
  }): Promise<AdminRecord> {
    const row = await this.#db.sql.row<AdminRow>(
      `INSERT INTO admin (name, password_hash, created_at) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO NOTHING RETURNING *`,
      [input.name, input.passwordHash, input.createdAt],
    );
    if (!row) throw new VoicegateError('ALREADY_EXISTS', `an administrator "${input.name}" exists`);
    return rowToAdmin(row);
  }

  async getAdmin(id: number): Promise<AdminRecord | null> {
    const row = await this.#db.sql.row<AdminRow>('SELECT * FROM admin WHERE id = $1', [id]);
    return row ? rowToAdmin(row) : null;
  }

  async findAdmin(name: string): Promise<AdminRecord | null> {
    const row = await this.#db.sql.row<AdminRow>('SELECT * FROM admin WHERE name = $1', [name]);
    return row ? rowToAdmin(row) : null;
  }

  async listAdmins(): Promise<AdminRecord[]> {
    return (await this.#db.sql.rows<AdminRow>('SELECT * FROM admin ORDER BY name COLLATE "C"')).map(
      rowToAdmin,
    );
  }

  async setAdminPassword(id: number, passwordHash: string): Promise<void> {
    await this.#db.sql.rows('UPDATE admin SET password_hash = $1 WHERE id = $2', [
      passwordHash,
      id,
    ]);
  }

  async setAdminTotp(id: number, secret: string | null): Promise<void> {
    await this.#db.sql.rows('UPDATE admin SET totp_secret = $1 WHERE id = $2', [secret, id]);
  }

  async takeAdminTotpStep(id: number, step: number): Promise<boolean> {
    // One statement: of two log-ins with one code, the row lock lets only the first match.
    const rows = await this.#db.sql.rows(
      `UPDATE admin SET totp_step = $1 WHERE id = $2 AND (totp_step IS NULL OR totp_step < $1)
       RETURNING id`,
      [step, id],
    );
    return rows.length === 1;
  }

  async removeAdmin(id: number): Promise<void> {
    await this.#db.tx(async (t) => {
      // Every administrator row locked first: two removals of the last two serialise here.
      const all = await t.rows<{ id: number }>('SELECT id FROM admin ORDER BY id FOR UPDATE');
      if (!all.some((a) => Number(a.id) === id))
        throw new VoicegateError('NOT_FOUND', 'no such administrator');
      if (all.length <= 1) throw new VoicegateError('INVALID_STATE', LAST_ADMIN);
      await t.rows('DELETE FROM admin WHERE id = $1', [id]);
    });
  }

  async reserveAdminLogin(
    id: number,
    now: number,
    limit: number,
    lockUntil: number,
  ): Promise<number | null> {
    const row = await this.#db.sql.row<{ failed_logins: number }>(
      reserveLoginSql('admin', 'postgresql'),
      [id, now, limit, lockUntil],
    );
    return row ? Number(row.failed_logins) : null;
  }

  async setAdminLoginState(
    id: number,
    failures: number,
    lockedUntil: number | null,
  ): Promise<void> {
    await this.#db.sql.rows(
      'UPDATE admin SET failed_logins = $1, locked_until = $2 WHERE id = $3',
      [failures, lockedUntil, id],
    );
  }

  async createAdminSession(s: AdminSession): Promise<void> {
    await this.#db.tx(async (t) => {
      await t.rows('DELETE FROM admin_session WHERE expires_at < $1', [s.createdAt]);
      await t.rows(
        'INSERT INTO admin_session (token_hash, admin_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
        [s.tokenHash, s.adminId, s.csrfToken, s.createdAt, s.expiresAt],
      );
    });
  }

  async getAdminSession(tokenHash: string, now: number): Promise<AdminSession | null> {
    const row = await this.#db.sql.row<AdminSessionRow>(
      'SELECT * FROM admin_session WHERE token_hash = $1 AND expires_at > $2',
      [tokenHash, now],
    );
    return row ? rowToAdminSession(row) : null;
  }

  async extendAdminSession(tokenHash: string, expiresAt: number): Promise<void> {
    await this.#db.sql.rows('UPDATE admin_session SET expires_at = $1 WHERE token_hash = $2', [
      expiresAt,
      tokenHash,
    ]);
  }

  async deleteAdminSession(tokenHash: string): Promise<void> {
    await this.#db.sql.rows('DELETE FROM admin_session WHERE token_hash = $1', [tokenHash]);
  }

  async deleteAdminSessionsOf(adminId: number, except = ''): Promise<void> {
    await this.#db.sql.rows('DELETE FROM admin_session WHERE admin_id = $1 AND token_hash != $2', [
      adminId,
      except,
    ]);
  }
}
