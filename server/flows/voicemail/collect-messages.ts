/**
 * An owner collects messages: log in (unless the router trusts the caller), hear the
 * summary, then the main menu (MAIN_MENU_KEYS).
 */
import { isVoicegateError } from '../../domain/errors.ts';
import type { Mailbox, MailboxRef } from '../../domain/mailbox.ts';
import { publicMailbox } from '../../domain/mailbox.ts';
import type { Call } from '../call.ts';
import type { FlowDeps } from '../flow-deps.ts';
import { changeCode } from './change-code.ts';
import { endEmail, readEmails, startEmail } from './email-menu.ts';
import { greetingsMenu } from './greetings-menu.ts';
import { commandFor, MAIN_MENU_KEYS } from './keymaps.ts';
import { playMessages } from './message-menu.ts';
import { MAX_QUIET, Prompter, untilHangUp } from './prompter.ts';
import type { Session } from './session.ts';

export interface CollectOptions {
  /**
   * The mailbox, when the router knows it (own extension, a trusted number): the record it
   * resolved, or a name or extension.
   */
  mailboxRef?: MailboxRef;
  /** The same, as the flow engine's collect-messages action names it (null = ask). */
  mailbox?: string | null;
  /** The router vouches for the caller: no code asked. */
  trusted: boolean;
  language: string;
}

/** Wrong codes (or unknown mailboxes) before the call ends; the domain's lockout counts too. */
export const MAX_LOGIN_FAILURES = 3;

export async function collectMessages(
  call: Call,
  deps: FlowDeps,
  opts: CollectOptions,
): Promise<void> {
  const p = new Prompter(call, deps, opts.language);
  await untilHangUp(
    async () => {
      const mailbox = await logIn(p, opts);
      if (!mailbox) return;
      deps.log.info({ callId: call.info.callId, mailbox: mailbox.name }, 'collecting messages');
      await mainMenu({ call, deps, p, mailbox, deleted: [] });
    },
    () => undefined,
  );
}

/** The mailbox, or null once the call was ended (failures, lockout, silence). */
async function logIn(p: Prompter, opts: CollectOptions): Promise<Mailbox | null> {
  const { deps, call } = p;
  const given = opts.mailboxRef || opts.mailbox || null;
  if (opts.trusted && given) {
    try {
      return publicMailbox(await deps.mailboxes.resolve(given));
    } catch (err) {
      if (!isVoicegateError(err, 'NOT_FOUND')) throw err;
    }
  }
  // A mailbox the router named is kept across attempts; one the caller typed is asked again.
  const known =
    opts.trusted || given === null ? null : typeof given === 'string' ? given : given.name;
  let failures = 0;
  let quiet = 0;
  while (quiet < MAX_QUIET) {
    const ref = known ?? (await p.readDigits(['enter-mailbox']));
    const code = ref ? await p.readDigits(['enter-code']) : null;
    if (ref === null || ref === '' || code === null) {
      quiet++;
      continue;
    }
    try {
      return await deps.mailboxes.authenticate(ref, code, {
        channel: 'phone',
        remote: call.info.remote,
        // Only a trusted PBX's caller ID separates its callers; anyone else could change
        // the number with every call to escape the per-address count.
        caller: call.info.vouchedBy === 'peer' ? call.info.callerNumber : null,
      });
    } catch (err) {
      // A locked mailbox sounds like an unknown one: "incorrect", whatever was keyed.
      if (!isVoicegateError(err, 'AUTH_FAILED')) throw err;
    }
    failures++;
    if (failures >= MAX_LOGIN_FAILURES) {
      await p.say(['login-incorrect'], { interruptible: false });
      await p.goodbye();
      return null;
    }
    await p.say(['login-incorrect', 'please-try-again']);
    call.clearKeys();
  }
  await p.goodbye();
  return null;
}

async function mainMenu(s: Session): Promise<void> {
  // The mail server is asked now, so the e-mails are ready when the voicemail is heard.
  s.email = await startEmail(s);
  try {
    await mainMenuKeys(s);
  } finally {
    await endEmail(s.email);
  }
}

async function mainMenuKeys(s: Session): Promise<void> {
  await summary(s);
  for (let quiet = 0; quiet < MAX_QUIET;) {
    const key = await s.p.ask(s.email ? ['main-menu', 'main-menu-email'] : ['main-menu']);
    if (key === null) {
      quiet++;
      continue;
    }
    quiet = 0;
    switch (commandFor(MAIN_MENU_KEYS, key)) {
      case 'new':
      case 'saved':
        if ((await playMessages(s, key === '1' ? 'new' : 'saved')) === 'ended') return;
        // After the new voicemail, the new e-mail.
        if (key === '1' && s.email) await readEmails(s, 'quiet');
        break;
      case 'email':
        if (s.email) await readEmails(s, 'say');
        else await s.p.say(['invalid-entry']);
        break;
      case 'greetings':
        await greetingsMenu(s);
        break;
      case 'changeCode':
        await changeCode(s);
        break;
      case 'help':
        break;
      case 'goodbye':
        await s.p.goodbye();
        return;
      default:
        await s.p.say(['invalid-entry']);
    }
  }
  await s.p.goodbye();
}

/** "You have N new messages and M saved messages": what the lamp counts, waiting and heard. */
async function summary(s: Session): Promise<void> {
  const { waiting, heard: kept } = await s.deps.messages.lamp(s.mailbox.id);
  await s.p.say([
    'you-have',
    ...(await s.p.count(waiting)),
    waiting === 1 ? 'new-message' : 'new-messages',
    'and',
    ...(await s.p.count(kept)),
    kept === 1 ? 'saved-message' : 'saved-messages',
  ]);
}
