/** What reading e-mail by phone shares between Graph and EWS: limits, and errors as the phone hears them. */
import { VoicegateError } from '../domain/errors.ts';
import { EwsError } from './ews-soap.ts';
import { TokenRefused } from './graph-auth.ts';
import { GraphError } from './graph-client.ts';

export interface InboxOptions {
  maxPerCall: number;
  /** For opening (listing and reading the e-mails together), and for each later change. */
  timeoutMs: number;
}

/**
 * Voicemail items (IPM.Note.Microsoft.Voicemail.UM.CA and its kin, MS-OXOUM 2.2.2.1) are heard
 * as voicemail, not read out as e-mail.
 */
export function isVoicemailClass(itemClass: string): boolean {
  return itemClass.toLowerCase().startsWith('ipm.note.microsoft.voicemail');
}

/** EWS codes that say the connection may not read this mailbox (credentials or rights). */
const EWS_REFUSED = new Set([
  'Unauthorized',
  'ErrorAccessDenied',
  'ErrorImpersonateUserDenied',
  'ErrorImpersonationDenied',
  'ErrorNonExistentMailbox',
]);

/**
 * Exchange's answer as the phone hears it: AUTH_FAILED when the credentials, the application's
 * permissions or the mailbox were refused, UNAVAILABLE otherwise (no answer in time, busy).
 * The message names the mailbox and Exchange's code, never a secret.
 */
export function readingError(err: unknown, mailbox: string, only?: 'UNAVAILABLE'): VoicegateError {
  const refused =
    err instanceof TokenRefused ||
    (err instanceof GraphError && [401, 403, 404].includes(err.status)) ||
    (err instanceof EwsError && EWS_REFUSED.has(err.code));
  const what =
    err instanceof GraphError || err instanceof EwsError
      ? `${err.code}: ${err.message}`
      : (err as Error).name === 'TimeoutError'
        ? 'no answer in time'
        : (err as Error).message;
  return new VoicegateError(
    refused && !only ? 'AUTH_FAILED' : 'UNAVAILABLE',
    `Exchange, reading ${mailbox}: ${what}`,
    { cause: err },
  );
}
