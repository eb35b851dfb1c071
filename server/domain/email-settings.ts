/**
 * A mailbox's e-mail settings (DESIGN.md, "E-mail modes"): which address and mode go together,
 * what each mode does with a new voicemail, and who may change them. The CLI, the web settings
 * and the deposit all ask here.
 */
import { VoicegateError } from './errors.ts';
import type { EmailMode, Mailbox } from './mailbox.ts';

export type EmailSettings = Pick<Mailbox, 'email' | 'emailMode'>;

/**
 * What a mailbox's owner may choose (the web settings). `exchange` makes Exchange the
 * mailbox's store, with an address and a connection only the administrator knows.
 */
export const OWNER_EMAIL_MODES = ['off', 'copy', 'forward', 'alert'] as const;
export type OwnerEmailMode = (typeof OWNER_EMAIL_MODES)[number];

/** What a new voicemail's mail is: none, or the kind of mail the delivery queue sends. */
export type EmailDelivery = 'off' | 'copy' | 'forward' | 'alert';

/**
 * The one check of a mailbox's settings as they will be stored: every mode but `off` sends
 * somewhere, so it needs an address; for `exchange` that is the user's Exchange mailbox.
 */
export function checkEmailSettings(s: EmailSettings): void {
  if (s.emailMode === 'off' || s.email) return;
  throw new VoicegateError(
    'INVALID_INPUT',
    s.emailMode === 'exchange'
      ? 'e-mail mode "exchange" needs the address of the user\'s Exchange mailbox'
      : `e-mail mode "${s.emailMode}" needs an e-mail address`,
  );
}

/**
 * Whether the owner (not the administrator) may go from `current` to `wanted`: an Exchange
 * mailbox's delivery is the administrator's choice, so the owner neither undoes it nor asks for
 * it. Throws FORBIDDEN saying so.
 */
export function checkOwnerEmailChange(current: EmailSettings, wanted: EmailSettings): void {
  if (current.emailMode === 'exchange')
    throw new VoicegateError(
      'FORBIDDEN',
      "this mailbox's voicemail goes to Exchange; the administrator manages its e-mail",
    );
  if (!(OWNER_EMAIL_MODES as readonly EmailMode[]).includes(wanted.emailMode))
    throw new VoicegateError(
      'FORBIDDEN',
      `only the administrator can set e-mail mode "${wanted.emailMode}"`,
    );
}

/**
 * The settings as the owner's form shows them: an Exchange mailbox sends no mail the owner
 * chose, so its mode reads `off` (the web says why from the mailbox's own mode).
 */
export function ownerEmailSettings(s: EmailSettings): {
  email: string | null;
  mode: OwnerEmailMode;
} {
  return { email: s.email, mode: s.emailMode === 'exchange' ? 'off' : s.emailMode };
}

/**
 * What e-mail a new voicemail for this mailbox gives: its mode, or none without an address.
 * Copy, forward and alert are modes of their own, never added to `exchange`: an Exchange
 * mailbox gets no mail, and its voicemail is kept here (and lights the lamp) until delivery
 * into Exchange is a target of the delivery queue.
 */
export function emailDelivery(s: EmailSettings): EmailDelivery {
  if (!s.email || s.emailMode === 'exchange') return 'off';
  return s.emailMode;
}
