import { CLI_ACTOR, type Actor } from './audit.ts';
import { describeEmailReading, type EmailReadingView } from './email-reading.ts';
import type { EmailReadingService } from './email-reading-service.ts';
import { VoicegateError } from './errors.ts';
import type { MailboxHome, MailboxHomeChange } from './exchange.ts';
import type { MailboxHomeService } from './home-service.ts';
import type { Mailbox, MailboxChanges, GreetingKind } from './mailbox.ts';
import type { MailboxService } from './mailbox-service.ts';
import type { MessageService } from './message-service.ts';

/** Every setting `voicegate mailbox set` and the admin page change, in one request. */
export interface MailboxSettingsChange {
  /** The mailbox's own fields (name, extension, e-mail, language, zone, breakouts...). */
  fields?: MailboxChanges;
  /** Where its voicemail lives: here or in Exchange (address, connection). */
  home?: MailboxHomeChange;
  /** The phone's SIP password; null removes it (the phone can no longer register). */
  sipPassword?: string | null;
  /** `off` or `imap://user@host:993`, with the account's password or token (write-only). */
  readEmail?: { choice: string; secret?: string };
}

/** What an administrator sees of a mailbox beyond its fields; no secret, only whether one is kept. */
export interface MailboxExtras {
  home: MailboxHome;
  readEmail: EmailReadingView;
  /** The phone's digest credentials: user name (the extension) and realm, never the password. */
  sip: { user: string | null; realm: string } | null;
  /** A hunt group's members (names); null for a user's mailbox. */
  members: string[] | null;
}

/**
 * The administrator's view of a mailbox's settings, for the CLI and the admin area alike: the
 * one place that applies a change of several kinds (fields, home, SIP password, e-mail reading)
 * and puts each on the audit trail, secrets left out. The rules themselves stay where they are
 * (MailboxService, MailboxHomeService, EmailReadingService); this only orders and records them.
 */
export class MailboxSettingsService {
  readonly #mailboxes: MailboxService;
  readonly #homes: MailboxHomeService;
  readonly #reading: EmailReadingService;
  readonly #messages: MessageService;
  readonly #realm: string;

  constructor(deps: {
    mailboxes: MailboxService;
    homes: MailboxHomeService;
    emailReading: EmailReadingService;
    messages: MessageService;
    /** The digest realm of phones' credentials (sip.realm, else server.domain). */
    sipRealm: string;
  }) {
    this.#mailboxes = deps.mailboxes;
    this.#homes = deps.homes;
    this.#reading = deps.emailReading;
    this.#messages = deps.messages;
    this.#realm = deps.sipRealm;
  }

  get sipRealm(): string {
    return this.#realm;
  }

  async extras(ref: string): Promise<MailboxExtras> {
    const m = await this.#mailboxes.resolve(ref);
    return {
      home: await this.#homes.home(m),
      readEmail: await this.#reading.view(m),
      sip: m.sip ? { user: m.extension, realm: m.sip.realm } : null,
      members:
        m.kind === 'group' ? (await this.#mailboxes.groupMembers(m.name)).map((x) => x.name) : null,
    };
  }

  /**
   * Applies a change: the fields first (a new name is the one the rest is applied to), then the
   * home, the SIP password and e-mail reading. Each part is checked before it is written; a part
   * refused after an earlier one was written leaves the earlier one in place, as the CLI always
   * has, and the error names the part.
   */
  async apply(
    ref: string,
    change: MailboxSettingsChange,
    actor: Actor = CLI_ACTOR,
  ): Promise<Mailbox> {
    const { fields, home, sipPassword, readEmail } = change;
    if (
      (!fields || Object.keys(fields).length === 0) &&
      !home &&
      sipPassword === undefined &&
      !readEmail
    )
      throw new VoicegateError('INVALID_INPUT', 'nothing to change');
    let m: Mailbox = await this.#mailboxes.resolve(ref);
    if (fields && Object.keys(fields).length > 0)
      m = await this.#mailboxes.update(m.name, fields, actor);
    const record = (reason: string, details: Record<string, unknown>) =>
      this.#mailboxes.audit.record({
        kind: 'mailbox-change',
        actor,
        mailbox: m.name,
        reason,
        details,
      });
    if (home) {
      const before = await this.#homes.home(m.name);
      const after = await this.#homes.setHome(m.name, home);
      await record('home changed', { before, after });
    }
    if (sipPassword !== undefined) {
      await this.#mailboxes.setSipPassword(m.name, sipPassword, this.#realm);
      await record(sipPassword === null ? 'SIP password removed' : 'SIP password set', {
        realm: this.#realm,
      });
    }
    if (readEmail) {
      const before = describeEmailReading(await this.#reading.view(m.name));
      const view = await this.#reading.set(m.name, readEmail.choice, readEmail.secret);
      await record('e-mail reading changed', { before, after: describeEmailReading(view) });
    }
    return m;
  }

  /** Sets a hunt group's members (every member named; none empties the group). */
  async setMembers(group: string, members: string[], actor: Actor = CLI_ACTOR): Promise<Mailbox[]> {
    const before = (await this.#mailboxes.groupMembers(group)).map((m) => m.name);
    const list = await this.#mailboxes.setGroupMembers(group, members);
    const g = await this.#mailboxes.resolve(group);
    await this.#mailboxes.audit.record({
      kind: 'mailbox-change',
      actor,
      mailbox: g.name,
      reason: 'members changed',
      details: { before: { members: before }, after: { members: list.map((m) => m.name) } },
    });
    return list;
  }

  /** Stores a greeting (already a telephone WAV: the adapter converts what it was sent). */
  async setGreeting(ref: string, kind: GreetingKind, wav: Buffer, actor: Actor = CLI_ACTOR) {
    const m = await this.#mailboxes.resolve(ref);
    const greeting = await this.#messages.setGreeting(m.name, kind, wav);
    await this.#mailboxes.audit.record({
      kind: 'mailbox-change',
      actor,
      mailbox: m.name,
      reason: `${kind} greeting recorded`,
      details: { greeting: kind, durationMs: greeting.audio.durationMs },
    });
    return greeting;
  }

  async removeGreeting(ref: string, kind: GreetingKind, actor: Actor = CLI_ACTOR): Promise<void> {
    const m = await this.#mailboxes.resolve(ref);
    await this.#messages.removeGreeting(m.name, kind);
    await this.#mailboxes.audit.record({
      kind: 'mailbox-change',
      actor,
      mailbox: m.name,
      reason: `${kind} greeting removed`,
      details: { greeting: kind },
    });
  }
}
