/**
 * The one statement that takes a log-in attempt of a mailbox or an administrator (each has its
 * own `failed_logins` and `locked_until`), for SQLite and PostgreSQL alike. One statement, so
 * concurrent attempts each get their own number: an expired lock starts a new window at 1, and
 * the attempt that takes the last try sets the lock with it. Parameters: id, now, limit,
 * lockUntil; it returns `failed_logins`, or no row when the account is locked.
 */
export function reserveLoginSql(
  table: 'mailbox' | 'admin',
  dialect: 'sqlite' | 'postgresql',
): string {
  const p = (n: number): string => (dialect === 'sqlite' ? `?${n}` : `$${n}`);
  const lockUntil = dialect === 'sqlite' ? p(4) : `${p(4)}::bigint`;
  return `UPDATE ${table} SET
     failed_logins = CASE WHEN locked_until IS NULL THEN failed_logins + 1 ELSE 1 END,
     locked_until = CASE
       WHEN (CASE WHEN locked_until IS NULL THEN failed_logins + 1 ELSE 1 END) >= ${p(3)}
       THEN ${lockUntil} ELSE NULL END
   WHERE id = ${p(1)} AND (locked_until IS NULL OR locked_until <= ${p(2)})
   RETURNING failed_logins`;
}
