/**
 * One error type for every channel. `code` is stable: each protocol adapter maps it to its own
 * wire form (IMAP NO [NONEXISTENT], HTTP 404, SIP 404, SMTP 550); `message` is safe to show a
 * user and never holds secrets.
 */
export const ERROR_CODES = {
  NOT_FOUND: 'not found',
  ALREADY_EXISTS: 'already exists',
  INVALID_INPUT: 'invalid input',
  INVALID_STATE: 'not allowed in this state',
  FORBIDDEN: 'forbidden',
  AUTH_FAILED: 'authentication failed',
  /** No session, or it expired: log in again (unlike AUTH_FAILED, a wrong code). */
  UNAUTHENTICATED: 'not logged in',
  TOO_SHORT: 'too short',
  TOO_LONG: 'too long',
  BAD_AUDIO: 'bad audio',
  STORAGE_FULL: 'storage full',
  UNAVAILABLE: 'temporarily unavailable',
  INTERNAL: 'internal error',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class VoicegateError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VoicegateError';
    this.code = code;
  }
}

export function isVoicegateError(err: unknown, code?: ErrorCode): err is VoicegateError {
  return err instanceof VoicegateError && (code === undefined || err.code === code);
}
