import type { SMTPServerError } from 'smtp-server';
import { isVoicegateError, type ErrorCode } from '../domain/errors.ts';

/** The domain's error codes as SMTP replies: 5xx is for good, 4xx asks the sender to retry. */
export const SMTP_REPLY: Record<ErrorCode, number> = {
  NOT_FOUND: 550,
  ALREADY_EXISTS: 550,
  INVALID_INPUT: 550,
  INVALID_STATE: 550,
  FORBIDDEN: 550,
  AUTH_FAILED: 535,
  UNAUTHENTICATED: 530,
  TOO_SHORT: 550,
  TOO_LONG: 550,
  BAD_AUDIO: 550,
  STORAGE_FULL: 452,
  UNAVAILABLE: 451,
  INTERNAL: 451,
};

const TEMPORARY = 'temporary failure, try again later';

/** An SMTP reply as smtp-server takes it: an error whose responseCode is sent with its message. */
export function reply(code: number, text: string): SMTPServerError {
  return Object.assign(new Error(text), { responseCode: code });
}

/**
 * Any failure as the reply the client gets. Domain messages are written for users and go out
 * as they are; anything else is internal: the client only hears "try again later".
 */
export function toSmtpReply(err: unknown): SMTPServerError {
  if ((err as SMTPServerError | undefined)?.responseCode) return err as SMTPServerError;
  if (!isVoicegateError(err) || err.code === 'INTERNAL') return reply(451, TEMPORARY);
  return reply(SMTP_REPLY[err.code], err.message);
}

/** Whether the client was told something internal went wrong (the log then keeps the details). */
export function isInternal(err: unknown): boolean {
  if (isVoicegateError(err)) return err.code === 'INTERNAL';
  return !(err as SMTPServerError | undefined)?.responseCode;
}
