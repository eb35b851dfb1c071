/**
 * A mailbox's e-mail settings (DESIGN.md, "E-mail modes"): which address and mode go together,
 * what each mode does with a new voicemail, and who may change them. The CLI, the web settings
 * and the deposit all ask here.
 */
import { VoicegateError } from './errors.ts';
import { emailModeOf, type EmailMode, type Mailbox } from './mailbox.ts';

export type EmailSettings = Pick<Mailbox, 'email' | 'emailMode'>;

/**
 * What a mailbox's owner may choose (the web settings): every mode. Whether voicemail lives in
 * Exchange is the mailbox's home (`exchange.ts`), the administrator's choice, not a mode.
 */
export const OWNER_EMAIL_MODES = ['off', 'copy', 'forward', 'alert'] as const;
export type OwnerEmailMode = (typeof OWNER_EMAIL_MODES)[number];

/** What a new voicemail's mail is: none, or the kind of mail the delivery queue sends. */
export type EmailDelivery = 'off' | 'copy' | 'forward' | 'alert';

/**
 * The one check of a mailbox's settings as they will be stored: every mode but `off` sends
 * somewhere, so it needs an address.
 */
export function checkEmailSettings(s: EmailSettings): void {
  if (s.emailMode === 'off' || s.email) return;
  throw new VoicegateError('INVALID_INPUT', `e-mail mode "${s.emailMode}" needs an e-mail address`);
}

/**
 * Whether the owner (not the administrator) may choose `wanted`: a mode that exists (the old
 * `exchange` is refused saying what replaced it), and one owners may choose (FORBIDDEN).
 */
export function checkOwnerEmailChange(wanted: EmailSettings): void {
  emailModeOf(wanted.emailMode);
  if (!(OWNER_EMAIL_MODES as readonly EmailMode[]).includes(wanted.emailMode))
    throw new VoicegateError(
      'FORBIDDEN',
      `only the administrator can set e-mail mode "${wanted.emailMode}"`,
    );
}

/** The settings as the owner's form shows them. */
export function ownerEmailSettings(s: EmailSettings): {
  email: string | null;
  mode: OwnerEmailMode;
} {
  return { email: s.email, mode: s.emailMode };
}

/** What e-mail a new voicemail for this mailbox gives: its mode, or none without an address. */
export function emailDelivery(s: EmailSettings): EmailDelivery {
  if (!s.email) return 'off';
  return s.emailMode;
}
