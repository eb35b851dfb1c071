import { VoicegateError } from './errors.ts';

/**
 * An administrator: a principal of its own, never a mailbox. Its password is hashed as codes
 * are (`code-hash.ts`); its lockout is its own, counted atomically in the store as a mailbox's.
 */
export interface AdminRecord {
  id: number;
  name: string;
  passwordHash: string;
  /** The TOTP secret (RFC 6238, base32) once enrolled; null without a second factor. */
  totpSecret: string | null;
  failedLogins: number;
  lockedUntil: number | null;
  createdAt: number;
}

/** What may be shown of an administrator: no hash, no secret. */
export interface Admin {
  id: number;
  name: string;
  totp: boolean;
  lockedUntil: number | null;
  createdAt: number;
}

export function publicAdmin(a: AdminRecord): Admin {
  return {
    id: a.id,
    name: a.name,
    totp: a.totpSecret !== null,
    lockedUntil: a.lockedUntil,
    createdAt: a.createdAt,
  };
}

/** A web log-in of an administrator: the cookie's token is kept only as a hash. */
export interface AdminSession {
  tokenHash: string;
  adminId: number;
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 200;

export function checkAdminName(name: string): string {
  const trimmed = name.trim();
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(trimmed))
    throw new VoicegateError(
      'INVALID_INPUT',
      'an administrator name has 1 to 64 letters, digits, dots, dashes, underscores or @',
    );
  return trimmed;
}

export function checkAdminPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new VoicegateError(
      'INVALID_INPUT',
      `an administrator password has at least ${MIN_PASSWORD_LENGTH} characters`,
    );
  if (password.length > MAX_PASSWORD_LENGTH)
    throw new VoicegateError(
      'INVALID_INPUT',
      `an administrator password has at most ${MAX_PASSWORD_LENGTH} characters`,
    );
}

/** A time-based one-time code (RFC 6238): made and checked outside the domain (a library). */
export interface SecondFactor {
  /** A new random secret, base32. */
  newSecret(): string;
  /** The otpauth:// URI an authenticator app reads (as a QR code or typed). */
  uri(account: string, secret: string): string;
  /**
   * The time step `code` is right for, for `secret` at `now` (one step either side allowed),
   * or null when it is wrong. The step lets a code be taken only once.
   */
  check(secret: string, code: string, now: number): number | null;
}
