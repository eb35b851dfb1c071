import { VoicegateError } from './errors.ts';

/**
 * A voicemail's global identity: `<id>@<origin>`, the content of its MIME Message-ID without the
 * angle brackets. A voicemail recorded here gets a ULID (unique at this server, sorting by time)
 * at `server.name` (the name of this server among its peers, recorded as each message's origin;
 * `server.domain` is the mail domain, which servers of one network may share). A voicemail that
 * arrives with an identity (a mail's Message-ID, a peer's copy) keeps it, so every copy of it
 * anywhere carries the same one and a deposit that is sent again is recognised.
 */
export type VoicemailIdentity = string;

/** The longest identity kept; RFC 5322 lines are 998 characters, real Message-IDs far fewer. */
export const MAX_IDENTITY_LENGTH = 250;

/** RFC 5322 msg-id without its brackets: dot-atom-text "@" (dot-atom-text / no-fold-literal). */
const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const DOT_ATOM = `${ATOM}(?:\\.${ATOM})*`;
const MSG_ID = new RegExp(`^${DOT_ATOM}@(?:${DOT_ATOM}|\\[[\\x21-\\x5a\\x5e-\\x7e]*\\])$`);

export function isIdentity(value: string): boolean {
  return value.length <= MAX_IDENTITY_LENGTH && MSG_ID.test(value);
}

/** The identity of a voicemail recorded at `origin` (this server's name) under `id` (a ULID). */
export function newIdentity(id: string, origin: string): VoicemailIdentity {
  const identity = `${id}@${origin}`;
  if (!isIdentity(identity))
    throw new VoicegateError('INVALID_INPUT', `"${identity}" cannot be a voicemail identity`);
  return identity;
}

/** Checks an identity handed in by a channel; INVALID_INPUT if it has not the form of one. */
export function checkIdentity(value: string): VoicemailIdentity {
  if (!isIdentity(value))
    throw new VoicegateError('INVALID_INPUT', 'a voicemail identity has the form id@origin');
  return value;
}

/**
 * The identity a Message-ID header names (`<id@origin>`, white space around it allowed), or
 * null if the header has not that form: such a mail gets an identity of its own, as if it had
 * none.
 */
export function identityFromMessageId(header: string | null | undefined): VoicemailIdentity | null {
  if (!header) return null;
  const inner = /^\s*<([^<>\s]*)>\s*$/.exec(header)?.[1];
  return inner !== undefined && isIdentity(inner) ? inner : null;
}
