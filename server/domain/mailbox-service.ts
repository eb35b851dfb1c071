import { hashCode, verifyCode } from './code-hash.ts';
import type { DomainDeps } from './deps.ts';
import { VoicegateError } from './errors.ts';
import {
  checkEmailMode,
  normalizeMailboxChanges,
  normalizeName,
  type Mailbox,
  type MailboxChanges,
  type MailboxInput,
  type MailboxRecord,
} from './mailbox.ts';
import { afterFailure, checkCode } from './policy.ts';

export type Channel = 'imap' | 'web' | 'phone' | 'cli' | 'smtp';

/** A hash of a random code: verified against when the mailbox is unknown, so timing says nothing. */
let decoyHash: Promise<string> | undefined;

export function publicMailbox(record: MailboxRecord): Mailbox {
  const { codeHash: _hash, failedLogins: _f, lockedUntil: _l, ...mailbox } = record;
  return mailbox;
}

export class MailboxService {
  readonly #deps: DomainDeps;
  constructor(deps: DomainDeps) {
    this.#deps = deps;
  }

  #now(): number {
    return this.#deps.now?.() ?? Date.now();
  }

  /** Finds a mailbox by name or extension, or throws NOT_FOUND naming what was asked for. */
  async resolve(ref: string): Promise<MailboxRecord> {
    const key = ref.replace(/ +$/, '');
    const found = key ? await this.#deps.store.findMailbox(key) : null;
    if (!found) throw new VoicegateError('NOT_FOUND', `no mailbox named or numbered "${ref}"`);
    return found;
  }

  async list(): Promise<Mailbox[]> {
    return (await this.#deps.store.listMailboxes()).map(publicMailbox);
  }

  async add(input: MailboxInput, code: string): Promise<Mailbox> {
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
    checkEmailMode(full);
    await this.#checkUnique(full.name, full.extension, null);
    const codeHash = await hashCode(code, this.#deps.scryptCost);
    const created = await this.#deps.store.createMailbox({ ...full, codeHash });
    this.#deps.log.info({ mailbox: created.name, kind }, 'mailbox added');
    return publicMailbox(created);
  }

  async update(ref: string, changes: MailboxChanges): Promise<Mailbox> {
    const current = await this.resolve(ref);
    const fields = normalizeMailboxChanges(changes);
    if (fields.broadcast && current.kind !== 'group') {
      throw new VoicegateError('INVALID_INPUT', 'broadcast applies to hunt groups only');
    }
    checkEmailMode({ ...current, ...fields });
    await this.#checkUnique(
      fields.name ?? current.name,
      fields.extension === undefined ? current.extension : fields.extension,
      current.id,
    );
    const updated = await this.#deps.store.updateMailbox(current.id, fields);
    return publicMailbox(updated);
  }

  async remove(ref: string): Promise<void> {
    const current = await this.resolve(ref);
    const unused = await this.#deps.store.removeMailbox(current.id);
    await this.#deps.audio.remove(unused);
    this.#deps.log.info({ mailbox: current.name }, 'mailbox removed');
  }

  /** Sets a new code (policy enforced). Channels that let a user change it authenticate first. */
  async setCode(ref: string, code: string): Promise<void> {
    const current = await this.resolve(ref);
    checkCode(code, this.#deps.policy);
    await this.#deps.store.setCodeHash(current.id, await hashCode(code, this.#deps.scryptCost));
    await this.#deps.store.setLoginState(current.id, 0, null);
    this.#deps.log.info({ mailbox: current.name }, 'voicemail code changed');
  }

  async changeCode(
    ref: string,
    oldCode: string,
    newCode: string,
    channel: Channel,
    remote: string,
  ): Promise<void> {
    const mailbox = await this.authenticate(ref, oldCode, { channel, remote });
    await this.setCode(mailbox.name, newCode);
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

  /**
   * Checks a code. Wrong codes count toward one lockout shared by every channel; an unknown
   * mailbox and a wrong code get the same answer. Each failure is logged (never the code).
   */
  async authenticate(
    ref: string,
    code: string,
    ctx: { channel: Channel; remote: string; requireUms?: boolean },
  ): Promise<Mailbox> {
    const now = this.#now();
    const mailbox = await this.#deps.store.findMailbox(ref.replace(/ +$/, ''));
    const denied = new VoicegateError('AUTH_FAILED', 'wrong mailbox or code');
    if (!mailbox) {
      decoyHash ??= hashCode('decoy-' + Math.random(), this.#deps.scryptCost);
      await verifyCode(code, await decoyHash);
      this.#deps.log.warn(
        { mailbox: ref, channel: ctx.channel, remote: ctx.remote },
        'login failed: unknown mailbox',
      );
      throw denied;
    }
    if (mailbox.lockedUntil !== null && mailbox.lockedUntil > now) {
      this.#deps.log.warn(
        { mailbox: mailbox.name, channel: ctx.channel, remote: ctx.remote },
        'login refused: locked',
      );
      throw new VoicegateError(
        'LOCKED',
        `mailbox is locked after repeated wrong codes; try again later`,
      );
    }
    if (!(await verifyCode(code, mailbox.codeHash))) {
      const next = afterFailure(mailbox.failedLogins, now, this.#deps.policy);
      await this.#deps.store.setLoginState(mailbox.id, next.failures, next.lockedUntil);
      this.#deps.log.warn(
        {
          mailbox: mailbox.name,
          channel: ctx.channel,
          remote: ctx.remote,
          locked: next.lockedUntil !== null,
        },
        'login failed: wrong code',
      );
      throw next.lockedUntil !== null
        ? new VoicegateError(
            'LOCKED',
            'mailbox is locked after repeated wrong codes; try again later',
          )
        : denied;
    }
    if (ctx.requireUms && !mailbox.umsAccess) {
      this.#deps.log.warn(
        { mailbox: mailbox.name, channel: ctx.channel, remote: ctx.remote },
        'login refused: no UMS access',
      );
      throw new VoicegateError(
        'FORBIDDEN',
        'this mailbox has no access from mail clients or the web',
      );
    }
    if (mailbox.failedLogins !== 0 || mailbox.lockedUntil !== null) {
      await this.#deps.store.setLoginState(mailbox.id, 0, null);
    }
    return publicMailbox(mailbox);
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
