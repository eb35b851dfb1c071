import { isVoicegateError, type ErrorCode } from '../server/domain/errors.ts';

/**
 * The domain's error codes as IMAP response codes (RFC 5530), sent as `NO [CODE]`. Domain
 * refusals are the client's business and are logged quietly; INTERNAL, and any error that is
 * not a domain error, is a server bug: `NO [SERVERBUG]`, details only in the log.
 */
export const IMAP_REPLY: Record<ErrorCode, string> = {
  NOT_FOUND: 'NONEXISTENT',
  ALREADY_EXISTS: 'ALREADYEXISTS',
  INVALID_INPUT: 'CANNOT',
  INVALID_STATE: 'CANNOT',
  FORBIDDEN: 'NOPERM',
  AUTH_FAILED: 'AUTHENTICATIONFAILED',
  UNAUTHENTICATED: 'EXPIRED',
  TOO_SHORT: 'CANNOT',
  TOO_LONG: 'LIMIT',
  BAD_AUDIO: 'CANNOT',
  STORAGE_FULL: 'OVERQUOTA',
  UNAVAILABLE: 'UNAVAILABLE',
  INTERNAL: 'SERVERBUG',
};

/** The response code a failure is answered with. */
export function imapResponseCode(err: unknown): string {
  return isVoicegateError(err) ? IMAP_REPLY[err.code] : IMAP_REPLY.INTERNAL;
}

/** Whether the failure is ours (logged at error level) rather than a refusal of the client's. */
export function isInternal(err: unknown): boolean {
  return !isVoicegateError(err) || err.code === 'INTERNAL';
}
