import { randomBytes } from 'node:crypto';
import { hashCode, verifyCode } from './code-hash.ts';
import type { DomainDeps } from './deps.ts';
import { VoicegateError } from './errors.ts';
import { publicMailbox, type Mailbox } from './mailbox.ts';
import { DEFAULT_PER_ADDRESS_FAILURES } from './policy.ts';
import { AddressThrottle, clientAddress } from './address-throttle.ts';
import type { AuditTrail } from './audit-trail.ts';

export type Channel = 'imap' | 'web' | 'phone' | 'cli' | 'smtp';

const CANNOT_RECORD = 'logging in is not possible just now; try again later';
/** How many rounds of code checks under way a log-in that met a lock waits for. */
const MAX_WAITS = 20;

/** Who is logging in: the channel, the client's address, and on the phone the caller. */
export interface LoginContext {
  channel: Channel;
  /** The client's address, maybe with a port: wrong codes are counted per address. */
  remote: string;
  /**
   * The caller's number on the phone, given only when a trusted PBX vouches for it: a PBX brings
   * every caller from one address, so there the count is per address and caller, lest one
   * caller's wrong codes lock out everyone's.
   */
  caller?: string | null;
  /** Mail clients and the web need the mailbox's UMS access. */
  requireUms?: boolean;
}

/** The one answer to any refused log-in, so none says whether the mailbox exists or is locked. */
export const WRONG_OR_LOCKED =
  'wrong mailbox or code (after repeated wrong codes, log-ins are refused for a while)';

/**
 * Opening a mailbox by its code, the same on every channel: the lockout per mailbox and per
 * client address counted before a code is checked, the one answer to every refusal, and each
 * attempt on the audit trail and told to the observers (metrics).
 */
export class MailboxLogin {
  readonly #deps: DomainDeps;
  readonly #throttle: AddressThrottle;
  /**
   * Code checks under way per mailbox in this process, each settling once its outcome is on
   * record (a right code having cleared the count and any lock it met).
   */
  readonly #checking = new Map<number, Set<Promise<unknown>>>();
  /** Log-ins under way per client address (and caller), in this process. */
  readonly #fromClient = new Map<string, Set<Promise<unknown>>>();
  /** A hash of a random code, checked when there is no real hash to check. */
  #decoyHash: Promise<string> | undefined;
  readonly #audit: AuditTrail;

  constructor(deps: DomainDeps, audit: AuditTrail) {
    this.#deps = deps;
    this.#audit = audit;
    const { perAddressFailures = DEFAULT_PER_ADDRESS_FAILURES, minutes } = deps.policy.lockout;
    this.#throttle = new AddressThrottle(perAddressFailures, minutes * 60_000);
  }

  #now(): number {
    return this.#deps.now?.() ?? Date.now();
  }

  /**
   * A wrong current code where the owner is already in (the web's settings): the lockout it
   * counts toward holds on every channel, so the owner is told how many tries are left. Nothing
   * is revealed that the session does not already prove.
   */
  async triesLeft(ref: string, err: unknown): Promise<unknown> {
    const { failures, minutes } = this.#deps.policy.lockout;
    if (!(err instanceof VoicegateError) || err.code !== 'AUTH_FAILED' || failures <= 0) return err;
    const m = await this.#deps.store.findMailbox(ref);
    if (!m) return err;
    const left = failures - m.failedLogins;
    if ((m.lockedUntil ?? 0) > this.#now() || left <= 0)
      return new VoicegateError(
        'AUTH_FAILED',
        `the mailbox is now locked on every channel (phone, mail, web) for ${minutes} minutes`,
      );
    return new VoicegateError(
      'AUTH_FAILED',
      `${left} ${left === 1 ? 'try' : 'tries'} left before the mailbox is locked on every channel for ${minutes} minutes`,
    );
  }

  /**
   * Checks a code. Every attempt is counted before its code is checked, in one atomic step per
   * mailbox and per client address, so concurrent attempts never check more codes than the
   * lockout allows; a right code gives its attempt back. An unknown mailbox, a wrong code, a
   * locked mailbox and a refused address all get the same answer after about the same time
   * (one code hash), so no channel tells whether a mailbox exists. An attempt that cannot be
   * recorded is refused. Each refusal is logged (never the code).
   */
  async authenticate(ref: string, code: string, ctx: LoginContext): Promise<Mailbox> {
    const client = clientAddress(ctx.remote) + (ctx.caller ? ` ${ctx.caller}` : '');
    const logged = { channel: ctx.channel, remote: ctx.remote, mailbox: ref };
    const denied = new VoicegateError('AUTH_FAILED', WRONG_OR_LOCKED);
    // Tries under way count against the address too, so many users behind one address (a NAT,
    // a proxy) logging in at once can use them all up: such a log-in waits for those under way
    // and asks again; the tries wrong codes used stay used.
    let admitted = this.#throttle.take(client, this.#now());
    for (let round = 0; !admitted && round < MAX_WAITS; round++) {
      const underWay = this.#fromClient.get(client);
      if (!underWay?.size) break;
      await Promise.allSettled([...underWay]);
      admitted = this.#throttle.take(client, this.#now());
    }
    if (!admitted) {
      this.#deps.log.warn(logged, 'login refused: too many wrong codes from this address');
      this.#deps.observe?.({ event: 'login', channel: ctx.channel, outcome: 'refused' });
      await this.#loginAudit(ctx, ref, 'failure', 'too many wrong codes from this address');
      throw denied;
    }
    const lockedOut = new VoicegateError('AUTH_FAILED', WRONG_OR_LOCKED);
    const login = this.#admitted(ref, code, ctx, client, logged, denied, lockedOut);
    // A wrong mailbox or code failed; a lock, no UMS access or a store that cannot record the
    // attempt refused it (the client is told the same either way).
    void login.then(
      () => this.#deps.observe?.({ event: 'login', channel: ctx.channel, outcome: 'ok' }),
      (err: unknown) =>
        this.#deps.observe?.({
          event: 'login',
          channel: ctx.channel,
          outcome: err === denied ? 'failed' : 'refused',
        }),
    );
    return track(this.#fromClient, client, login);
  }

  /** A log-in whose try the address had: the mailbox's own lockout, then the code. */
  async #admitted(
    ref: string,
    code: string,
    ctx: LoginContext,
    client: string,
    logged: { channel: string; remote: string; mailbox: string },
    denied: VoicegateError,
    lockedOut: VoicegateError,
  ): Promise<Mailbox> {
    const { failures, minutes } = this.#deps.policy.lockout;
    const mailbox = await this.#deps.store.findMailbox(ref.replace(/ +$/, ''));
    if (!mailbox) {
      await this.#record(() => this.#deps.store.recordNoLogin(), client, logged);
      await this.#decoy(code);
      this.#deps.log.warn(logged, 'login failed: unknown mailbox');
      await this.#loginAudit(ctx, ref, 'failure', 'unknown mailbox');
      throw denied;
    }
    // Fail closed: a code is never checked unless its attempt is on record.
    const reserve = (): Promise<number | null> =>
      this.#record(
        () =>
          this.#deps.store.reserveLogin(
            mailbox.id,
            this.#now(),
            failures > 0 ? failures : Number.MAX_SAFE_INTEGER,
            this.#now() + minutes * 60_000,
          ),
        client,
        logged,
      );
    let attempt = await reserve();
    // The attempt that takes the last try locks the mailbox at once, so concurrent log-ins of
    // one owner (a mail client's several connections) can meet a lock that the right code among
    // those under way is about to clear: such an attempt waits for them and asks again. Codes
    // still checked never exceed the limit; after wrong ones the lock stands and it is refused.
    for (let round = 0; attempt === null && round < MAX_WAITS; round++) {
      const underWay = this.#checking.get(mailbox.id);
      if (!underWay?.size) break;
      await Promise.allSettled([...underWay]);
      attempt = await reserve();
    }
    if (attempt === null) {
      await this.#decoy(code);
      this.#deps.log.warn(logged, 'login refused: locked');
      await this.#loginAudit(ctx, mailbox.name, 'failure', 'locked');
      throw lockedOut;
    }
    const check = this.#check(mailbox.id, code, mailbox.codeHash, logged);
    if (!(await check)) {
      const locksNow = failures > 0 && attempt >= failures;
      this.#deps.log.warn({ ...logged, attempt, locked: locksNow }, 'login failed: wrong code');
      await this.#loginAudit(ctx, mailbox.name, 'failure', 'wrong code');
      if (locksNow) this.#deps.observe?.({ event: 'lockout', channel: ctx.channel });
      if (locksNow)
        await this.#audit.record({
          kind: 'lockout',
          actor: { channel: ctx.channel, principal: null, client: ctx.remote },
          mailbox: mailbox.name,
          outcome: 'failure',
          reason: `locked for ${minutes} minutes after ${attempt} wrong codes`,
        });
      throw denied;
    }
    this.#throttle.giveBack(client);
    if (ctx.requireUms && !mailbox.umsAccess) {
      this.#deps.log.warn(logged, 'login refused: no UMS access');
      await this.#loginAudit(ctx, mailbox.name, 'failure', 'no UMS access');
      throw new VoicegateError(
        'FORBIDDEN',
        'this mailbox has no access from mail clients or the web',
      );
    }
    await this.#loginAudit(ctx, mailbox.name, 'success', null);
    return publicMailbox(mailbox);
  }

  /** A log-in on record: the channel, the mailbox (as given when unknown), the client, why not. */
  #loginAudit(
    ctx: LoginContext,
    mailbox: string,
    outcome: 'success' | 'failure',
    reason: string | null,
  ): Promise<void> {
    return this.#audit.record({
      kind: 'login',
      actor: {
        channel: ctx.channel,
        principal: outcome === 'success' ? `mailbox:${mailbox}` : null,
        client: ctx.caller ? `${ctx.remote} (caller ${ctx.caller})` : ctx.remote,
      },
      mailbox,
      outcome,
      reason,
    });
  }

  /** Checks a code on record; a right one clears the count (and any lock) before it settles. */
  #check(mailboxId: number, code: string, codeHash: string, logged: object): Promise<boolean> {
    const run = (async (): Promise<boolean> => {
      if (!(await verifyCode(code, codeHash))) return false;
      try {
        await this.#deps.store.setLoginState(mailboxId, 0, null);
      } catch (err) {
        // The attempt is on record; a count left standing only locks sooner.
        this.#deps.log.warn({ ...logged, err }, 'could not reset the failure count');
      }
      return true;
    })();
    return track(this.#checking, mailboxId, run);
  }

  /** Runs a store write for a log-in; if it fails, the log-in is refused as unavailable. */
  async #record<T>(write: () => Promise<T>, client: string, logged: object): Promise<T> {
    try {
      return await write();
    } catch (err) {
      this.#throttle.giveBack(client);
      this.#deps.log.warn({ ...logged, err }, 'login refused: the attempt could not be recorded');
      throw new VoicegateError('UNAVAILABLE', CANNOT_RECORD, { cause: err });
    }
  }

  /** Checks the code against a random code's hash: an unknown or locked mailbox takes as long as a wrong code. */
  async #decoy(code: string): Promise<void> {
    this.#decoyHash ??= hashCode(randomBytes(16).toString('hex'), this.#deps.scryptCost);
    await verifyCode(code, await this.#decoyHash);
  }
}

/** Keeps `run` in `under[key]` until it settles; returns it. */
function track<K, T>(under: Map<K, Set<Promise<unknown>>>, key: K, run: Promise<T>): Promise<T> {
  let set = under.get(key);
  if (!set) under.set(key, (set = new Set()));
  set.add(run);
  const done = (): void => {
    set.delete(run);
    if (set.size === 0 && under.get(key) === set) under.delete(key);
  };
  run.then(done, done);
  return run;
}
