import { randomBytes } from 'node:crypto';
import {
  checkAdminName,
  checkAdminPassword,
  publicAdmin,
  type Admin,
  type AdminRecord,
  type SecondFactor,
} from './admin.ts';
import type { Actor } from './audit.ts';
import { AuditTrail } from './audit-trail.ts';
import { hashCode, verifyCode } from './code-hash.ts';
import type { DomainDeps } from './deps.ts';
import { VoicegateError } from './errors.ts';

/** The one answer to a refused administrator log-in, whatever the cause. */
export const ADMIN_LOGIN_REFUSED =
  'wrong name, password or one-time code (after repeated failures, log-ins are refused for a while)';
/** Asked for when the password was right and the administrator has a second factor. */
export const TOTP_NEEDED = 'enter the one-time code from your authenticator app';

/**
 * Administrator accounts: added, listed, removed (never the last) and their passwords and
 * second factors set, each change on the audit trail. Log-ins are counted before the password
 * is checked, atomically in the store (the policy's lockout, on the administrator's own count),
 * and an unknown name costs as long as a wrong password.
 */
export class AdminService {
  readonly #deps: DomainDeps;
  readonly #audit: AuditTrail;
  readonly #totp: SecondFactor;
  #decoyHash: Promise<string> | undefined;
  constructor(deps: DomainDeps, totp: SecondFactor) {
    this.#deps = deps;
    this.#audit = new AuditTrail(deps);
    this.#totp = totp;
  }

  #now(): number {
    return this.#deps.now?.() ?? Date.now();
  }

  async list(): Promise<Admin[]> {
    return (await this.#deps.store.listAdmins()).map(publicAdmin);
  }

  async get(id: number): Promise<Admin | null> {
    const a = await this.#deps.store.getAdmin(id);
    return a ? publicAdmin(a) : null;
  }

  async #resolve(name: string): Promise<AdminRecord> {
    const found = await this.#deps.store.findAdmin(name.trim());
    if (!found) throw new VoicegateError('NOT_FOUND', `no administrator named "${name}"`);
    return found;
  }

  async add(name: string, password: string, actor: Actor): Promise<Admin> {
    const clean = checkAdminName(name);
    checkAdminPassword(password);
    const passwordHash = await hashCode(password, this.#deps.scryptCost);
    const created = await this.#deps.store.createAdmin({
      name: clean,
      passwordHash,
      createdAt: this.#now(),
    });
    await this.#audit.record({
      kind: 'admin-change',
      actor,
      reason: 'administrator added',
      details: { admin: clean, after: { name: clean } },
    });
    return publicAdmin(created);
  }

  async remove(name: string, actor: Actor): Promise<void> {
    const current = await this.#resolve(name);
    await this.#deps.store.removeAdmin(current.id);
    await this.#audit.record({
      kind: 'admin-change',
      actor,
      reason: 'administrator removed',
      details: { admin: current.name, before: { name: current.name, totp: !!current.totpSecret } },
    });
  }

  /** Sets a new password; clears the lockout and ends the administrator's other sessions. */
  async setPassword(name: string, password: string, actor: Actor, keepSession = ''): Promise<void> {
    const current = await this.#resolve(name);
    checkAdminPassword(password);
    await this.#deps.store.setAdminPassword(
      current.id,
      await hashCode(password, this.#deps.scryptCost),
    );
    await this.#deps.store.setAdminLoginState(current.id, 0, null);
    await this.#deps.store.deleteAdminSessionsOf(current.id, keepSession);
    await this.#audit.record({
      kind: 'admin-change',
      actor,
      reason: 'administrator password set',
      details: { admin: current.name },
    });
  }

  /** Starts enrolling a second factor: a new secret and its URI, stored only once confirmed. */
  totpProposal(admin: Admin): { secret: string; uri: string } {
    const secret = this.#totp.newSecret();
    return { secret, uri: this.#totp.uri(admin.name, secret) };
  }

  /** Enrols `secret` once the administrator shows a right code for it. */
  async enrolTotp(adminId: number, secret: string, code: string, actor: Actor): Promise<void> {
    const admin = await this.#deps.store.getAdmin(adminId);
    if (!admin) throw new VoicegateError('NOT_FOUND', 'no such administrator');
    if (!/^[A-Z2-7]{16,128}=*$/.test(secret))
      throw new VoicegateError('INVALID_INPUT', 'secret: not a base32 TOTP secret');
    const step = this.#totp.check(secret, code, this.#now());
    if (step === null)
      throw new VoicegateError('INVALID_INPUT', 'code: not the current code for this secret');
    await this.#deps.store.setAdminTotp(admin.id, secret);
    // The code shown to enrol is used: it does not open a session afterwards.
    await this.#deps.store.takeAdminTotpStep(admin.id, step);
    await this.#audit.record({
      kind: 'admin-change',
      actor,
      reason: 'second factor enrolled',
      details: { admin: admin.name, before: { totp: !!admin.totpSecret }, after: { totp: true } },
    });
  }

  /** Removes the second factor (the administrator from the page, or the CLI for one who lost it). */
  async removeTotp(name: string, actor: Actor): Promise<void> {
    const admin = await this.#resolve(name);
    await this.#deps.store.setAdminTotp(admin.id, null);
    await this.#audit.record({
      kind: 'admin-change',
      actor,
      reason: 'second factor removed',
      details: { admin: admin.name, before: { totp: !!admin.totpSecret }, after: { totp: false } },
    });
  }

  /** Ends an administrator's lockout (the CLI, or another administrator). */
  async unlock(name: string, actor: Actor): Promise<void> {
    const admin = await this.#resolve(name);
    await this.#deps.store.setAdminLoginState(admin.id, 0, null);
    await this.#audit.record({
      kind: 'unlock',
      actor,
      reason: 'administrator unlocked',
      details: { admin: admin.name },
    });
  }

  /**
   * Checks a log-in. AUTH_FAILED (one answer) for an unknown name, a wrong password, a locked
   * account, a wrong one-time code or one already used (each code opens one session);
   * AUTH_FAILED with TOTP_NEEDED when the password was right
   * and a code is needed but none was given (that attempt is given back). Each outcome is audited.
   */
  async authenticate(
    name: string,
    password: string,
    totpCode: string | undefined,
    client: string,
  ): Promise<Admin> {
    const { failures, minutes } = this.#deps.policy.lockout;
    const denied = new VoicegateError('AUTH_FAILED', ADMIN_LOGIN_REFUSED);
    const actor: Actor = { channel: 'admin-web', principal: `admin:${name}`, client };
    const refuse = async (reason: string, extra?: Record<string, unknown>): Promise<never> => {
      const outcome = reason === 'locked' ? 'refused' : 'failed';
      this.#deps.observe?.({ event: 'login', channel: 'admin', outcome });
      await this.#audit.record({
        kind: 'login',
        actor,
        outcome: 'failure',
        reason,
        details: extra,
      });
      throw denied;
    };
    const admin = await this.#deps.store.findAdmin(name.trim());
    if (!admin) {
      await this.#decoy(password);
      return refuse('unknown administrator');
    }
    let attempt: number | null;
    try {
      attempt = await this.#deps.store.reserveAdminLogin(
        admin.id,
        this.#now(),
        failures > 0 ? failures : Number.MAX_SAFE_INTEGER,
        this.#now() + minutes * 60_000,
      );
    } catch (err) {
      this.#deps.log.warn({ err, admin: admin.name }, 'admin login refused: not recorded');
      throw new VoicegateError('UNAVAILABLE', 'logging in is not possible just now', {
        cause: err,
      });
    }
    if (attempt === null) {
      await this.#decoy(password);
      return refuse('locked');
    }
    const locksNow = failures > 0 && attempt >= failures;
    const failed = async (reason: string): Promise<never> => {
      this.#deps.observe?.({ event: 'login', channel: 'admin', outcome: 'failed' });
      if (locksNow) this.#deps.observe?.({ event: 'lockout', channel: 'admin' });
      await this.#audit.record({
        kind: 'login',
        actor,
        outcome: 'failure',
        reason,
        details: { attempt },
      });
      if (locksNow)
        await this.#audit.record({
          kind: 'lockout',
          actor,
          outcome: 'failure',
          reason: `administrator locked for ${minutes} minutes after ${attempt} failures`,
        });
      throw denied;
    };
    if (!(await verifyCode(password, admin.passwordHash))) return failed('wrong password');
    if (admin.totpSecret) {
      if (!totpCode) {
        // The password was right: this attempt is not one of the guesses the lockout counts.
        await this.#deps.store.setAdminLoginState(admin.id, Math.max(0, attempt - 1), null);
        throw new VoicegateError('AUTH_FAILED', TOTP_NEEDED);
      }
      const step = this.#totp.check(admin.totpSecret, totpCode, this.#now());
      if (step === null) return failed('wrong one-time code');
      // Checked and taken in one store step, so a code seen by someone else is worth nothing.
      if (!(await this.#deps.store.takeAdminTotpStep(admin.id, step)))
        return failed('one-time code already used');
    }
    await this.#deps.store.setAdminLoginState(admin.id, 0, null);
    this.#deps.observe?.({ event: 'login', channel: 'admin', outcome: 'ok' });
    await this.#audit.record({
      kind: 'login',
      actor,
      reason: admin.totpSecret ? 'password and one-time code' : 'password',
    });
    return publicAdmin(admin);
  }

  async #decoy(password: string): Promise<void> {
    this.#decoyHash ??= hashCode(randomBytes(16).toString('hex'), this.#deps.scryptCost);
    await verifyCode(password, await this.#decoyHash);
  }
}
