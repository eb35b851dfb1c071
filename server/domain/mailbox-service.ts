import { createHash } from 'node:crypto';
import { hashCode } from './code-hash.ts';
import type { DomainDeps } from './deps.ts';
import { VoicegateError } from './errors.ts';
import { mailboxOfAddress, type MailAddress } from './addressing.ts';
import { checkEmailSettings, checkOwnerEmailChange, type EmailSettings } from './email-settings.ts';
import {
  normalizeMailboxChanges,
  checkSipPassword,
  normalizeName,
  publicMailbox,
  type Mailbox,
  type MailboxChanges,
  type MailboxInput,
  type MailboxRecord,
  type MailboxRef,
} from './mailbox.ts';
import { checkCode } from './policy.ts';
import { MailboxLogin, type Channel, type LoginContext } from './mailbox-login.ts';
import { AuditTrail } from './audit-trail.ts';
import { changedFields, CLI_ACTOR, type Actor } from './audit.ts';

/**
 * Mailboxes: found, listed, added, changed and removed, their codes, SIP passwords and group
 * members, an administrator's changes on the audit trail. Opening one by its code is
 * `MailboxLogin`'s (`mailbox-login.ts`), reached through `authenticate`.
 */
export class MailboxService {
  readonly #deps: DomainDeps;
  readonly #login: MailboxLogin;
  /** Log-ins, lockouts, unlocks, code changes and an administrator's changes go on record. */
  readonly audit: AuditTrail;
  constructor(deps: DomainDeps) {
    this.#deps = deps;
    this.audit = new AuditTrail(deps);
    this.#login = new MailboxLogin(deps, this.audit);
  }

  #now(): number {
    return this.#deps.now?.() ?? Date.now();
  }

  /**
   * Finds a mailbox by name or extension, or throws NOT_FOUND naming what was asked for. A
   * mailbox already resolved (a call keeps the one it found) is taken as it is.
   */
  async resolve(ref: MailboxRef): Promise<MailboxRecord> {
    if (typeof ref !== 'string') return ref;
    const key = ref.replace(/ +$/, '');
    const found = key ? await this.#deps.store.findMailbox(key) : null;
    if (!found) throw new VoicegateError('NOT_FOUND', `no mailbox named or numbered "${ref}"`);
    return found;
  }

  /** The mailbox a mail address of `serverDomain` names (the domain's addressing rule). */
  async byAddress(address: MailAddress, serverDomain: string): Promise<MailboxRecord> {
    return mailboxOfAddress(address, serverDomain, this.#deps.store);
  }

  async list(): Promise<Mailbox[]> {
    return (await this.#deps.store.listMailboxes()).map(publicMailbox);
  }

  /**
   * The administrator's list: mailboxes whose name, extension or full name holds `q` (letters
   * compared without case), by name, one page, with whether each is locked now.
   */
  async search(
    q: string,
    offset: number,
    limit: number,
  ): Promise<{
    mailboxes: (Mailbox & { failedLogins: number; lockedUntil: number | null })[];
    total: number;
  }> {
    const needle = q.trim().toLowerCase();
    const now = this.#now();
    const all = (await this.#deps.store.listMailboxes())
      .filter(
        (m) =>
          !needle ||
          [m.name, m.extension ?? '', m.fullName].some((f) => f.toLowerCase().includes(needle)),
      )
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return {
      total: all.length,
      mailboxes: all.slice(offset, offset + limit).map((m) => ({
        ...publicMailbox(m),
        failedLogins: m.failedLogins,
        lockedUntil: m.lockedUntil !== null && m.lockedUntil > now ? m.lockedUntil : null,
      })),
    };
  }

  async add(input: MailboxInput, code: string, actor: Actor = CLI_ACTOR): Promise<Mailbox> {
    checkCode(code, this.#deps.policy);
    const fields = normalizeMailboxChanges(input);
    const kind = input.kind ?? 'user';
    const full = {
      kind,
      name: normalizeName(input.name),
      extension: fields.extension ?? null,
      fullName: fields.fullName ?? '',
      email: fields.email ?? null,
      emailMode: fields.emailMode ?? 'off',
      umsAccess: fields.umsAccess ?? true,
      locale: fields.locale ?? this.#deps.defaults.locale,
      timeZone: fields.timeZone ?? this.#deps.defaults.timeZone,
      trustedNumbers: fields.trustedNumbers ?? [],
      breakouts: fields.breakouts ?? {},
      broadcast: kind === 'group' ? (fields.broadcast ?? true) : false,
      activeGreeting: fields.activeGreeting ?? 'unavailable',
    };
    if (kind !== 'group' && input.broadcast) {
      throw new VoicegateError('INVALID_INPUT', 'broadcast applies to hunt groups only');
    }
    checkEmailSettings(full);
    await this.#checkUnique(full.name, full.extension, null);
    const codeHash = await hashCode(code, this.#deps.scryptCost);
    const created = await this.#deps.store.createMailbox({ ...full, codeHash });
    this.#deps.log.info({ mailbox: created.name, kind }, 'mailbox added');
    await this.audit.record({
      kind: 'mailbox-change',
      actor,
      mailbox: created.name,
      reason: 'mailbox added',
      details: { after: publicMailbox(created) },
    });
    return publicMailbox(created);
  }

  /** Changes settings; an administrator's (or the CLI's) change, with `actor`, goes on record. */
  async update(ref: string, changes: MailboxChanges, actor?: Actor): Promise<Mailbox> {
    const current = await this.resolve(ref);
    const fields = normalizeMailboxChanges(changes);
    if (fields.broadcast && current.kind !== 'group') {
      throw new VoicegateError('INVALID_INPUT', 'broadcast applies to hunt groups only');
    }
    checkEmailSettings({ ...current, ...fields });
    await this.#checkUnique(
      fields.name ?? current.name,
      fields.extension === undefined ? current.extension : fields.extension,
      current.id,
    );
    const updated = await this.#deps.store.updateMailbox(current.id, fields);
    // The digest hashes name the extension: under a new one the phone needs a new password.
    if (current.sip && fields.extension !== undefined && fields.extension !== current.extension) {
      await this.#deps.store.setSipCredentials(current.id, null);
      this.#deps.log.info({ mailbox: current.name }, 'SIP credentials dropped: new extension');
    }
    if (actor)
      await this.audit.record({
        kind: 'mailbox-change',
        actor,
        mailbox: updated.name,
        reason: 'settings changed',
        details: changedFields(publicMailbox(current), publicMailbox(updated)),
      });
    return publicMailbox(updated);
  }

  /** The owner changes the mailbox's e-mail settings (the web): within what an owner may set. */
  async updateOwnEmail(ref: MailboxRef, wanted: EmailSettings): Promise<Mailbox> {
    const current = await this.resolve(ref);
    checkOwnerEmailChange(wanted);
    return this.update(current.name, { email: wanted.email, emailMode: wanted.emailMode });
  }

  /** The owner's language (web and phone prompts) and time zone: both checked as an admin's are. */
  async updateOwnDisplay(
    ref: MailboxRef,
    wanted: { locale: string; timeZone: string },
  ): Promise<Mailbox> {
    const current = await this.resolve(ref);
    return this.update(current.name, { locale: wanted.locale, timeZone: wanted.timeZone });
  }

  async remove(ref: string, actor: Actor = CLI_ACTOR): Promise<void> {
    const current = await this.resolve(ref);
    const unused = await this.#deps.store.removeMailbox(current.id);
    await this.#deps.audio.remove(unused);
    this.#deps.log.info({ mailbox: current.name }, 'mailbox removed');
    await this.audit.record({
      kind: 'mailbox-change',
      actor,
      mailbox: current.name,
      reason: 'mailbox removed',
      details: { before: publicMailbox(current) },
    });
  }

  /** Sets a new code (policy enforced). Channels that let a user change it authenticate first. */
  async setCode(ref: string, code: string, actor: Actor = CLI_ACTOR): Promise<void> {
    const current = await this.resolve(ref);
    checkCode(code, this.#deps.policy);
    await this.#deps.store.setCodeHash(current.id, await hashCode(code, this.#deps.scryptCost));
    await this.#deps.store.setLoginState(current.id, 0, null);
    this.#deps.log.info({ mailbox: current.name }, 'voicemail code changed');
    await this.audit.record({
      kind: 'code-change',
      actor,
      mailbox: current.name,
      reason: actor.principal === `mailbox:${current.name}` ? 'changed by the owner' : 'code set',
    });
  }

  /** Whether the mailbox is locked now, and its count of wrong codes. */
  async loginState(ref: string): Promise<{ failedLogins: number; lockedUntil: number | null }> {
    const m = await this.resolve(ref);
    const locked = m.lockedUntil !== null && m.lockedUntil > this.#now();
    return { failedLogins: m.failedLogins, lockedUntil: locked ? m.lockedUntil : null };
  }

  /** An administrator ends a mailbox's lockout (wrong codes counted from nought again). */
  async unlock(ref: string, actor: Actor = CLI_ACTOR): Promise<void> {
    const current = await this.resolve(ref);
    await this.#deps.store.setLoginState(current.id, 0, null);
    this.#deps.log.info({ mailbox: current.name }, 'mailbox unlocked');
    await this.audit.record({
      kind: 'unlock',
      actor,
      mailbox: current.name,
      details: { before: { failedLogins: current.failedLogins, lockedUntil: current.lockedUntil } },
    });
  }
  async changeCode(
    ref: string,
    oldCode: string,
    newCode: string,
    channel: Channel,
    remote: string,
  ): Promise<void> {
    let mailbox: Mailbox;
    try {
      mailbox = await this.authenticate(ref, oldCode, { channel, remote });
    } catch (err) {
      throw await this.#login.triesLeft(ref, err);
    }
    await this.setCode(mailbox.name, newCode, {
      channel,
      principal: `mailbox:${mailbox.name}`,
      client: remote,
    });
  }

  /**
   * Sets (or with null removes) the SIP password of the mailbox's phone. Only its digest hashes
   * are kept, for the realm given (sip.realm); the digest user name is the extension.
   */
  async setSipPassword(ref: string, password: string | null, realm: string): Promise<void> {
    const current = await this.resolve(ref);
    if (password === null) {
      await this.#deps.store.setSipCredentials(current.id, null);
      this.#deps.log.info({ mailbox: current.name }, 'SIP credentials removed');
      return;
    }
    if (!current.extension)
      throw new VoicegateError(
        'INVALID_STATE',
        'a SIP password needs an extension (its user name)',
      );
    checkSipPassword(password);
    const h = (algorithm: string): string =>
      createHash(algorithm).update(`${current.extension}:${realm}:${password}`).digest('hex');
    await this.#deps.store.setSipCredentials(current.id, {
      realm,
      ha1Md5: h('md5'),
      ha1Sha256: h('sha256'),
    });
    this.#deps.log.info({ mailbox: current.name, realm }, 'SIP credentials set');
  }

  async setGroupMembers(groupRef: string, memberRefs: string[]): Promise<Mailbox[]> {
    const group = await this.resolve(groupRef);
    if (group.kind !== 'group')
      throw new VoicegateError('INVALID_INPUT', `"${group.name}" is not a hunt group`);
    const members: MailboxRecord[] = [];
    for (const ref of memberRefs) {
      const member = await this.resolve(ref);
      if (member.kind !== 'user')
        throw new VoicegateError('INVALID_INPUT', `"${member.name}" is a group; members are users`);
      if (!members.some((m) => m.id === member.id)) members.push(member);
    }
    await this.#deps.store.setGroupMembers(
      group.id,
      members.map((m) => m.id),
    );
    return members.map(publicMailbox);
  }

  async groupMembers(groupRef: string): Promise<Mailbox[]> {
    const group = await this.resolve(groupRef);
    if (group.kind !== 'group')
      throw new VoicegateError('INVALID_INPUT', `"${group.name}" is not a hunt group`);
    const ids = await this.#deps.store.groupMembers(group.id);
    const members = await Promise.all(ids.map((id) => this.#deps.store.getMailbox(id)));
    return members.filter((m): m is MailboxRecord => m !== null).map(publicMailbox);
  }

  /** Checks a code on every channel (`MailboxLogin.authenticate`). */
  authenticate(ref: string, code: string, ctx: LoginContext): Promise<Mailbox> {
    return this.#login.authenticate(ref, code, ctx);
  }

  async #checkUnique(name: string, extension: string | null, selfId: number | null): Promise<void> {
    const clash = async (key: string, what: string): Promise<void> => {
      const other = await this.#deps.store.findMailbox(key);
      if (other && other.id !== selfId) {
        throw new VoicegateError(
          'ALREADY_EXISTS',
          `${what} "${key}" is already used by mailbox "${other.name}"`,
        );
      }
    };
    // Names and extensions share one namespace, so "201" always means the same mailbox.
    await clash(name, 'name');
    if (extension !== null) await clash(extension, 'extension');
  }
}
