import type { AdminRecord, AdminSession } from '../domain/admin.ts';
import { VoicegateError } from '../domain/errors.ts';
import type { AdminStore } from '../domain/ports.ts';
import type { SqlAccess } from './sql-access.ts';
import { reserveLoginSql } from './login-window.ts';

export interface AdminRow {
  id: number;
  name: string;
  password_hash: string;
  totp_secret: string | null;
  failed_logins: number;
  locked_until: number | null;
  created_at: number;
}

export interface AdminSessionRow {
  token_hash: string;
  admin_id: number;
  csrf_token: string;
  created_at: number;
  expires_at: number;
}

export function rowToAdmin(r: AdminRow): AdminRecord {
  return {
    id: Number(r.id),
    name: r.name,
    passwordHash: r.password_hash,
    totpSecret: r.totp_secret,
    failedLogins: Number(r.failed_logins),
    lockedUntil: r.locked_until === null ? null : Number(r.locked_until),
    createdAt: Number(r.created_at),
  };
}

export function rowToAdminSession(r: AdminSessionRow): AdminSession {
  return {
    tokenHash: r.token_hash,
    adminId: Number(r.admin_id),
    csrfToken: r.csrf_token,
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
  };
}

export const LAST_ADMIN = 'the last administrator cannot be removed; add another one first';

/** Administrators and their web sessions. */
export class AdminTable implements AdminStore {
  readonly #db: SqlAccess;
  constructor(db: SqlAccess) {
    this.#db = db;
  }

  async createAdmin(input: {
    name: string;
    passwordHash: string;
    createdAt: number;
  }): Promise<AdminRecord> {
    return this.#db.tx(() => {
      if (this.#db.sql('SELECT 1 FROM admin WHERE name = ?').get(input.name))
        throw new VoicegateError('ALREADY_EXISTS', `an administrator "${input.name}" exists`);
      const row = this.#db
        .sql('INSERT INTO admin (name, password_hash, created_at) VALUES (?, ?, ?) RETURNING *')
        .get(input.name, input.passwordHash, input.createdAt) as unknown as AdminRow;
      return rowToAdmin(row);
    });
  }

  async getAdmin(id: number): Promise<AdminRecord | null> {
    const row = this.#db.sql('SELECT * FROM admin WHERE id = ?').get(id) as AdminRow | undefined;
    return row ? rowToAdmin(row) : null;
  }

  async findAdmin(name: string): Promise<AdminRecord | null> {
    const row = this.#db.sql('SELECT * FROM admin WHERE name = ?').get(name) as
      AdminRow | undefined;
    return row ? rowToAdmin(row) : null;
  }

  async listAdmins(): Promise<AdminRecord[]> {
    return (this.#db.sql('SELECT * FROM admin ORDER BY name').all() as unknown as AdminRow[]).map(
      rowToAdmin,
    );
  }

  async setAdminPassword(id: number, passwordHash: string): Promise<void> {
    this.#write('UPDATE admin SET password_hash = ? WHERE id = ?', passwordHash, id);
  }

  async setAdminTotp(id: number, secret: string | null): Promise<void> {
    this.#write('UPDATE admin SET totp_secret = ? WHERE id = ?', secret, id);
  }

  async takeAdminTotpStep(id: number, step: number): Promise<boolean> {
    const taken = this.#db.tx(() =>
      this.#db
        .sql('UPDATE admin SET totp_step = ? WHERE id = ? AND (totp_step IS NULL OR totp_step < ?)')
        .run(step, id, step),
    );
    return Number(taken.changes) === 1;
  }

  async removeAdmin(id: number): Promise<void> {
    this.#db.tx(() => {
      if (!this.#db.sql('SELECT 1 FROM admin WHERE id = ?').get(id))
        throw new VoicegateError('NOT_FOUND', 'no such administrator');
      const gone = this.#db
        .sql('DELETE FROM admin WHERE id = ? AND (SELECT count(*) FROM admin) > 1')
        .run(id);
      if (Number(gone.changes) === 0) throw new VoicegateError('INVALID_STATE', LAST_ADMIN);
    });
  }

  async reserveAdminLogin(
    id: number,
    now: number,
    limit: number,
    lockUntil: number,
  ): Promise<number | null> {
    // One statement, as a mailbox's: each concurrent attempt gets its own number.
    const row = this.#db.tx(
      () =>
        this.#db.sql(reserveLoginSql('admin', 'sqlite')).get(id, now, limit, lockUntil) as
          { failed_logins: number } | undefined,
    );
    return row ? row.failed_logins : null;
  }

  async setAdminLoginState(
    id: number,
    failures: number,
    lockedUntil: number | null,
  ): Promise<void> {
    this.#write(
      'UPDATE admin SET failed_logins = ?, locked_until = ? WHERE id = ?',
      failures,
      lockedUntil,
      id,
    );
  }

  async createAdminSession(s: AdminSession): Promise<void> {
    this.#db.tx(() => {
      this.#db.sql('DELETE FROM admin_session WHERE expires_at < ?').run(s.createdAt);
      this.#db
        .sql(
          'INSERT INTO admin_session (token_hash, admin_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
        )
        .run(s.tokenHash, s.adminId, s.csrfToken, s.createdAt, s.expiresAt);
    });
  }

  async getAdminSession(tokenHash: string, now: number): Promise<AdminSession | null> {
    const row = this.#db
      .sql('SELECT * FROM admin_session WHERE token_hash = ? AND expires_at > ?')
      .get(tokenHash, now) as AdminSessionRow | undefined;
    return row ? rowToAdminSession(row) : null;
  }

  async extendAdminSession(tokenHash: string, expiresAt: number): Promise<void> {
    this.#write(
      'UPDATE admin_session SET expires_at = ? WHERE token_hash = ?',
      expiresAt,
      tokenHash,
    );
  }

  async deleteAdminSession(tokenHash: string): Promise<void> {
    this.#write('DELETE FROM admin_session WHERE token_hash = ?', tokenHash);
  }

  async deleteAdminSessionsOf(adminId: number, except = ''): Promise<void> {
    this.#write(
      'DELETE FROM admin_session WHERE admin_id = ? AND token_hash != ?',
      adminId,
      except,
    );
  }

  #write(sql: string, ...params: (string | number | null)[]): void {
    this.#db.tx(() => this.#db.sql(sql).run(...params));
  }
}
