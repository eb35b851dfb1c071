import { VoicegateError } from './errors.ts';

export const MAILBOX_KINDS = ['user', 'group'] as const;
export type MailboxKind = (typeof MAILBOX_KINDS)[number];

export const EMAIL_MODES = ['off', 'copy', 'forward', 'alert'] as const;
export type EmailMode = (typeof EMAIL_MODES)[number];

export const GREETING_KINDS = ['unavailable', 'busy', 'temporary', 'name'] as const;
export type GreetingKind = (typeof GREETING_KINDS)[number];
/** The greetings a caller may hear; the recorded name is not one. */
export const ACTIVE_GREETING_KINDS = ['unavailable', 'busy', 'temporary'] as const;
export type ActiveGreeting = (typeof ACTIVE_GREETING_KINDS)[number];

/** Keys a caller may press during the greeting to be transferred elsewhere. */
export const BREAKOUT_KEYS = ['0', '2', '3'] as const;
export type BreakoutKey = (typeof BREAKOUT_KEYS)[number];

export interface Mailbox {
  id: number;
  kind: MailboxKind;
  /** Unique, case-sensitive, trailing spaces removed. */
  name: string;
  extension: string | null;
  fullName: string;
  email: string | null;
  emailMode: EmailMode;
  /** Access to the mailbox from IMAP and the web (unified messaging). */
  umsAccess: boolean;
  locale: string;
  timeZone: string;
  trustedNumbers: string[];
  breakouts: Partial<Record<BreakoutKey, string>>;
  /** Hunt groups only: copy each message to every member and remove it from the group. */
  broadcast: boolean;
  /** Which greeting callers hear (falling back to the recorded name, then the number). */
  activeGreeting: ActiveGreeting;
  createdAt: number;
}

/** A mailbox as stored, with what the domain needs for authentication. */
export interface MailboxRecord extends Mailbox {
  codeHash: string;
  failedLogins: number;
  lockedUntil: number | null;
  /** The phone's SIP digest credentials (user name = the extension), or null: cannot register. */
  sip: SipCredentials | null;
}

/** What may be shown of a mailbox: no code hash, lockout count or SIP credentials. */
export function publicMailbox(record: MailboxRecord): Mailbox {
  const { codeHash: _hash, failedLogins: _f, lockedUntil: _l, sip: _sip, ...mailbox } = record;
  return mailbox;
}

/**
 * A mailbox as a caller of the services names it: its name or extension, or the record already
 * resolved (a call resolves its mailbox once and carries it, rather than looking it up again).
 */
export type MailboxRef = string | MailboxRecord;

/**
 * What SIP digest needs of a phone's password, and nothing more: H(extension:realm:password)
 * with MD5 and with SHA-256 (RFC 8760). A new realm or extension needs a new password.
 */
export interface SipCredentials {
  realm: string;
  ha1Md5: string;
  ha1Sha256: string;
}

export interface MailboxInput {
  kind?: MailboxKind;
  name: string;
  extension?: string | null;
  fullName?: string;
  email?: string | null;
  emailMode?: EmailMode;
  umsAccess?: boolean;
  locale?: string;
  timeZone?: string;
  trustedNumbers?: string[];
  breakouts?: Partial<Record<BreakoutKey, string>>;
  broadcast?: boolean;
  activeGreeting?: ActiveGreeting;
}

export type MailboxChanges = Partial<Omit<MailboxInput, 'kind'>>;

/**
 * A phone's SIP password: digest hashes it quickly (MD5, SHA-256), so unlike the voicemail code it
 * must be long enough not to be guessed from a captured exchange.
 */
export function checkSipPassword(password: string): void {
  if (password.length < 12 || password.length > 128 || /[\u0000-\u001f\u007f]/.test(password))
    throw new VoicegateError(
      'INVALID_INPUT',
      'a SIP password has 12 to 128 characters, none of them control characters',
    );
}

/** Names are case-sensitive; only trailing spaces are removed. */
export function normalizeName(raw: string): string {
  const name = raw.replace(/ +$/, '');
  if (name.length === 0) throw new VoicegateError('INVALID_INPUT', 'mailbox name is empty');
  if (name.length > 64)
    throw new VoicegateError('INVALID_INPUT', 'mailbox name is longer than 64 characters');
  // Names appear in IMAP user names, mail addresses and SIP URIs: keep them printable.
  if (/[\u0000-\u001f\u007f@]/.test(name) || name.startsWith(' ')) {
    throw new VoicegateError(
      'INVALID_INPUT',
      `mailbox name "${name}" has a leading space, "@" or a control character`,
    );
  }
  return name;
}

export function normalizeExtension(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined || raw === '') return null;
  const ext = raw.trim();
  if (!/^[0-9*#]{1,20}$/.test(ext)) {
    throw new VoicegateError('INVALID_INPUT', `extension "${raw}" must be 1 to 20 digits`);
  }
  return ext;
}

export function normalizePhoneNumber(raw: string): string {
  const n = raw.trim();
  if (!/^\+?[0-9*#]{1,32}$/.test(n)) {
    throw new VoicegateError(
      'INVALID_INPUT',
      `"${raw}" is not a phone number (digits, optional leading +)`,
    );
  }
  return n;
}

export function normalizeEmail(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined || raw === '') return null;
  const email = raw.trim();
  // Deliberately loose: the mail server is the judge; this only catches obvious mistakes.
  if (!/^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/.test(email)) {
    throw new VoicegateError('INVALID_INPUT', `"${raw}" is not an e-mail address`);
  }
  return email;
}

export function validateTimeZone(zone: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    throw new VoicegateError(
      'INVALID_INPUT',
      `"${zone}" is not a known time zone (e.g. Europe/Paris)`,
    );
  }
  return zone;
}

export function validateLocale(locale: string): string {
  if (!/^[a-z]{2,3}(-[A-Z]{2})?$/.test(locale)) {
    throw new VoicegateError('INVALID_INPUT', `"${locale}" is not a locale (e.g. en-US, fr)`);
  }
  return locale;
}

export function oneOf<T extends string>(values: readonly T[], value: string, what: string): T {
  if (!(values as readonly string[]).includes(value)) {
    throw new VoicegateError(
      'INVALID_INPUT',
      `${what} must be one of ${values.join(', ')} (got "${value}")`,
    );
  }
  return value as T;
}

/**
 * An e-mail mode. `exchange` was one once; where voicemail lives is now the mailbox's home, a
 * setting of its own (a store migration moved the mailboxes that had it), so the old value is
 * refused with what to use instead.
 */
export function emailModeOf(value: string): EmailMode {
  if (value === 'exchange')
    throw new VoicegateError(
      'INVALID_INPUT',
      'e-mail mode "exchange" is gone: voicemail in Exchange is the mailbox\'s home (--home exchange --exchange-address ADDRESS [--exchange-connection NAME])',
    );
  return oneOf(EMAIL_MODES, value, 'e-mail mode');
}

/** Validates and normalizes every field present in `input`; absent fields stay absent. */
export function normalizeMailboxChanges(input: MailboxChanges): MailboxChanges {
  const out: MailboxChanges = {};
  if (input.name !== undefined) out.name = normalizeName(input.name);
  if (input.extension !== undefined) out.extension = normalizeExtension(input.extension);
  if (input.fullName !== undefined) out.fullName = input.fullName.trim().slice(0, 128);
  if (input.email !== undefined) out.email = normalizeEmail(input.email);
  if (input.emailMode !== undefined) out.emailMode = emailModeOf(input.emailMode);
  if (input.umsAccess !== undefined) out.umsAccess = input.umsAccess;
  if (input.locale !== undefined) out.locale = validateLocale(input.locale);
  if (input.timeZone !== undefined) out.timeZone = validateTimeZone(input.timeZone);
  if (input.trustedNumbers !== undefined)
    out.trustedNumbers = input.trustedNumbers.map(normalizePhoneNumber);
  if (input.breakouts !== undefined) {
    const b: Partial<Record<BreakoutKey, string>> = {};
    for (const [key, number] of Object.entries(input.breakouts)) {
      if (number === undefined || number === '') continue;
      b[oneOf(BREAKOUT_KEYS, key, 'breakout key')] = normalizePhoneNumber(number);
    }
    out.breakouts = b;
  }
  if (input.broadcast !== undefined) out.broadcast = input.broadcast;
  if (input.activeGreeting !== undefined)
    out.activeGreeting = oneOf(ACTIVE_GREETING_KINDS, input.activeGreeting, 'active greeting');
  return out;
}

/**
 * The number to ring for a mailbox's owner ("play on my phone"): its extension unless another
 * is asked for, and only its extension or one of its trusted numbers, so the server never
 * becomes a way to call anyone.
 */
export function numberToRing(
  mailbox: Pick<Mailbox, 'extension' | 'trustedNumbers'>,
  requested?: string,
): string {
  const number = requested ?? mailbox.extension;
  if (!number) throw new VoicegateError('INVALID_STATE', 'this mailbox has no extension to call');
  if (number !== mailbox.extension && !mailbox.trustedNumbers.includes(number))
    throw new VoicegateError(
      'FORBIDDEN',
      "only the mailbox's extension or one of its trusted numbers can be called",
    );
  return number;
}
