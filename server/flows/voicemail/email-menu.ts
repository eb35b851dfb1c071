/**
 * The owner's new e-mails, read aloud after the voicemail and on main-menu key 5, with the
 * keys of EMAIL_KEYS. The inbox is opened when the owner logs in (`startEmail`), so it is
 * usually ready by the time it is wanted; a mail server that does not answer is announced in
 * one sentence and the call goes on. The e-mail's words are only ever spoken: no key or link
 * in them is acted on.
 */
import type { InboxEmail, OpenInbox } from '../../domain/email-reading.ts';
import { isVoicegateError } from '../../domain/errors.ts';
import { commandFor, EMAIL_KEYS } from './keymaps.ts';
import { spokenTime } from './message-menu.ts';
import { KEY_TIMEOUT_MS, MAX_QUIET, type Clip } from './prompter.ts';
import type { EmailSession, Session } from './session.ts';
import { speechParts } from './speech-parts.ts';

/** Starts opening the inbox in the background, at log-in; null when nothing reads e-mail. */
export async function startEmail(s: Session): Promise<EmailSession | null> {
  const reader = s.deps.emailReader;
  if (!reader || !(await reader.reads(s.mailbox.id))) return null;
  const inbox = reader.open(s.mailbox);
  inbox.catch(() => {}); // awaited later; a rejection is handled there
  return { on: true, inbox };
}

/** Logs out of the mail server, if the inbox was opened. */
export async function endEmail(email: EmailSession | null | undefined): Promise<void> {
  const result = await email?.inbox?.catch(() => null);
  if (result?.ok) await result.inbox.close();
}

type Command = (typeof EMAIL_KEYS)[keyof typeof EMAIL_KEYS];
type After =
  'next' | 'previous' | 'deleted' | 'mainMenu' | 'options' | 'wait' | { key: string | null };

/**
 * "You have N new messages with text", then each, newest first. `whenNone`: what to say when
 * there are none (after the voicemail, nothing; on key 5, that there are none).
 */
export async function readEmails(s: Session, whenNone: 'say' | 'quiet'): Promise<void> {
  const inbox = await openedInbox(s);
  if (!inbox) return;
  const emails = inbox.emails;
  if (emails.length === 0) {
    if (whenNone === 'say') await s.p.say(['no-new-emails']);
    return;
  }
  await s.p.say([
    'you-have',
    ...(await s.p.count(emails.length)),
    emails.length === 1 ? 'new-email' : 'new-emails',
  ]);
  // Those moved to the trash during the call leave the list, so "previous" skips them.
  const list = [...emails];
  for (let i = 0; i < list.length;) {
    const outcome = await reviewEmail(s, inbox, list[i]!);
    if (outcome === 'mainMenu') return;
    if (outcome === 'deleted') {
      list.splice(i, 1);
      continue;
    }
    if (outcome === 'previous') {
      if (i === 0) await s.p.say(['no-previous-email']);
      else i--;
      continue;
    }
    i++;
  }
  await s.p.say(['no-more-emails']);
}

/** The inbox, or null after announcing why there is none. */
async function openedInbox(s: Session): Promise<OpenInbox | null> {
  const result = await s.email?.inbox;
  if (!result) return null;
  if (result.ok) return result.inbox;
  await s.p.say([result.failure === 'login-failed' ? 'email-login-failed' : 'email-unreachable']);
  // Once said is enough: later in the call the e-mail is not offered again.
  s.email = null;
  return null;
}

async function reviewEmail(
  s: Session,
  inbox: OpenInbox,
  email: InboxEmail,
): Promise<'next' | 'previous' | 'deleted' | 'mainMenu'> {
  let key = await present(s, inbox, email, true);
  let prompt = true;
  let quiet = 0;
  for (;;) {
    if (key === null) {
      if (quiet >= MAX_QUIET) return 'next';
      key = prompt ? await s.p.ask(['email-options']) : await s.call.nextKey(KEY_TIMEOUT_MS);
      prompt = true;
      if (key === null) {
        quiet++;
        continue;
      }
    }
    quiet = 0;
    const command = commandFor(EMAIL_KEYS, key);
    key = null;
    if (command === null) {
      await s.p.say(['invalid-entry']);
      continue;
    }
    const after = await COMMANDS[command](s, inbox, email);
    if (typeof after === 'string' && after !== 'wait' && after !== 'options') return after;
    if (after === 'wait') prompt = false;
    else if (after !== 'options') key = after.key;
  }
}

/**
 * The header (optional), then the text in parts. Returns the key that interrupted, or null
 * when it all played; an e-mail heard to its end is marked read. A part whose speech could not
 * be made (a machine too busy) is not replaced by a tone: the caller hears that the e-mail
 * cannot be read now, and it stays unread.
 */
async function present(
  s: Session,
  inbox: OpenInbox,
  email: InboxEmail,
  withHeader: boolean,
): Promise<string | null> {
  const parts = speechParts(email.text);
  // The first part is made while the header plays.
  let next = parts.length > 0 ? speak(s, parts[0]!, { strict: true }) : null;
  if (withHeader && (await s.p.say(await headerClips(s, email))) === 'key') return s.p.takeKey();
  for (let i = 0; i < parts.length; i++) {
    const samples = await next!.catch((err: unknown) => {
      s.deps.log.warn(
        { mailbox: s.mailbox.name, err: (err as Error).message },
        'an e-mail could not be made into speech',
      );
      return null;
    });
    if (!samples) {
      next = null;
      return (await s.p.say(['email-cannot-read'])) === 'key' ? s.p.takeKey() : null;
    }
    next = i + 1 < parts.length ? speak(s, parts[i + 1]!, { strict: true }) : null;
    if ((await s.p.say([samples])) === 'key') return s.p.takeKey();
  }
  await change(s, () => inbox.markRead(email.id), null);
  return null;
}

function speak(s: Session, text: string, opts?: { strict: boolean }): Promise<Int16Array> {
  const samples = s.deps.speech.say(text, s.p.language, opts);
  samples.catch(() => {}); // awaited in turn; one cut short by a key is never awaited
  return samples;
}

/** "Message from Carol Smith, sent Monday, November 30 at 9:15 AM, Subject Lunch, 24 words." */
async function headerClips(s: Session, email: InboxEmail): Promise<Clip[]> {
  const when = spokenTime(email.sentAt, s.mailbox.timeZone, s.mailbox.locale);
  const [name, time, subject, words] = await Promise.all([
    speak(s, email.fromName),
    s.deps.speech.say(when, s.mailbox.locale),
    speak(s, email.subject),
    speak(s, String(email.words)),
  ]);
  return [
    'email-from',
    name,
    'email-sent',
    time,
    ...(email.subject ? (['email-subject', subject] as Clip[]) : []),
    words,
    'email-words',
  ];
}

/** A change in the mail server; when it does not answer, the caller hears that nothing changed. */
async function change(s: Session, run: () => Promise<void>, done: Clip | null): Promise<boolean> {
  try {
    await run();
    if (done) await s.p.say([done]);
    return true;
  } catch (err) {
    if (!isVoicegateError(err, 'UNAVAILABLE')) throw err;
    s.deps.log.warn({ mailbox: s.mailbox.name, err: err.message }, 'e-mail change not made');
    await s.p.say(['email-not-changed']);
    return false;
  }
}

type Handler = (s: Session, inbox: OpenInbox, e: InboxEmail) => Promise<After>;

const COMMANDS: Record<Command, Handler> = {
  replay: async (s, inbox, e) => ({ key: await present(s, inbox, e, false) }),
  replayHeader: async (s, inbox, e) => ({ key: await present(s, inbox, e, true) }),
  next: async () => 'next',
  previous: async () => 'previous',
  mainMenu: async () => 'mainMenu',
  help: async (s) => {
    await s.p.say(['email-help']);
    return 'wait';
  },
  markRead: async (s, inbox, e) => {
    await change(s, () => inbox.markRead(e.id), 'email-marked-read');
    return 'next';
  },
  leaveUnread: async (s, inbox, e) => {
    await change(s, () => inbox.leaveUnread(e.id), 'email-left-unread');
    return 'next';
  },
  delete: async (s, inbox, e) =>
    (await change(s, () => inbox.trash(e.id), 'email-deleted')) ? 'deleted' : 'options',
};
