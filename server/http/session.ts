import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { VoicegateError } from '../domain/errors.ts';
import type { MailboxRecord } from '../domain/mailbox.ts';
import { publicAdmin, type Admin } from '../domain/admin.ts';
import type { Actor } from '../domain/audit.ts';
import type { VoicemailStore } from '../domain/ports.ts';

export const SESSION_COOKIE = 'vg_session';
export const CSRF_HEADER = 'x-csrf-token';
const MAX_AGE_MS = 12 * 3_600_000;

/** Who a web session belongs to: a mailbox's owner or an administrator, never both. */
export type Principal =
  { kind: 'mailbox'; mailbox: MailboxRecord } | { kind: 'admin'; admin: Admin };

declare module 'fastify' {
  interface FastifyRequest {
    /** The logged-in mailbox, set by `require`. */
    mailbox?: MailboxRecord;
    /** The logged-in administrator, set by `requireAdmin`. */
    admin?: Admin;
    sessionToken?: string;
  }
}

interface Found {
  principal: Principal;
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
  extend(expiresAt: number): Promise<void>;
}

function hash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface SessionOptions {
  store: VoicemailStore;
  idleMinutes: number;
  secureCookie: boolean;
}

/**
 * Web sessions: a random token in an HttpOnly, SameSite=Strict cookie (Secure under TLS), kept
 * server-side only as a hash, expiring after `idleMinutes` without use and after 12 hours in
 * any case. Every change (POST, PUT, DELETE) must also carry the session's CSRF token in a
 * header, which a page of another site cannot read.
 */
export class WebSessions {
  readonly #o: SessionOptions;
  constructor(opts: SessionOptions) {
    this.#o = opts;
  }

  /** A mailbox's session (its owner logged in); returns the CSRF token. */
  async create(reply: FastifyReply, mailboxId: number): Promise<string> {
    return this.#start(reply, (s) => this.#o.store.createWebSession({ ...s, mailboxId }));
  }

  /** An administrator's session; returns the CSRF token. */
  async createAdmin(reply: FastifyReply, adminId: number): Promise<string> {
    return this.#start(reply, (s) => this.#o.store.createAdminSession({ ...s, adminId }));
  }

  async #start(
    reply: FastifyReply,
    save: (s: {
      tokenHash: string;
      csrfToken: string;
      createdAt: number;
      expiresAt: number;
    }) => Promise<void>,
  ): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    const now = Date.now();
    await save({
      tokenHash: hash(token),
      csrfToken,
      createdAt: now,
      expiresAt: now + this.#o.idleMinutes * 60_000,
    });
    reply.setCookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: this.#o.secureCookie,
      path: '/',
    });
    return csrfToken;
  }

  async end(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const token = req.cookies[SESSION_COOKIE];
    if (token) {
      await this.#o.store.deleteWebSession(hash(token));
      await this.#o.store.deleteAdminSession(hash(token));
    }
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
  }

  /** Ends the mailbox's other sessions (after its code changed). */
  async endOthers(req: FastifyRequest): Promise<void> {
    await this.#o.store.deleteWebSessionsOf(
      req.mailbox!.id,
      req.sessionToken ? hash(req.sessionToken) : '',
    );
  }

  /** The hash under which this request's session is kept. */
  tokenHash(req: FastifyRequest): string {
    return req.sessionToken ? hash(req.sessionToken) : '';
  }

  /** The session's CSRF token for `GET /api/session` and `GET /api/admin/session`. */
  async csrfToken(req: FastifyRequest): Promise<string> {
    const found = await this.#find(req.sessionToken!, Date.now());
    return found!.csrfToken;
  }

  /** The live session of a cookie's token, and whose it is; null if none. */
  async #find(token: string, now: number): Promise<Found | null> {
    const tokenHash = hash(token);
    const web = await this.#o.store.getWebSession(tokenHash, now);
    if (web) {
      const mailbox = await this.#o.store.getMailbox(web.mailboxId);
      if (!mailbox) return null;
      return {
        ...web,
        principal: { kind: 'mailbox', mailbox },
        extend: (at) => this.#o.store.extendWebSession(tokenHash, at),
      };
    }
    const adm = await this.#o.store.getAdminSession(tokenHash, now);
    const admin = adm && (await this.#o.store.getAdmin(adm.adminId));
    if (!adm || !admin) return null;
    return {
      ...adm,
      principal: { kind: 'admin', admin: publicAdmin(admin) },
      extend: (at) => this.#o.store.extendAdminSession(tokenHash, at),
    };
  }

  /**
   * The one check of every route behind a log-in: 401 without a live session, 403 for a session
   * of the other kind (an administrator on a mailbox's routes, a mailbox on /api/admin), 403 for
   * a change without the CSRF token. It runs before the body is read, so a request nobody may
   * make is refused without buffering its body.
   */
  async #authorize(req: FastifyRequest, want: Principal['kind']): Promise<void> {
    const token = req.cookies[SESSION_COOKIE];
    const now = Date.now();
    const found = token ? await this.#find(token, now) : null;
    if (!token || !found)
      throw new VoicegateError('UNAUTHENTICATED', 'not logged in, or the session has expired');
    if (found.principal.kind !== want)
      throw new VoicegateError(
        'FORBIDDEN',
        want === 'admin'
          ? 'this needs an administrator; a mailbox session cannot use it'
          : "an administrator's session has no mailbox; log in as the mailbox",
      );
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const sent = req.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !sameText(sent, found.csrfToken)) {
        throw new VoicegateError('FORBIDDEN', 'missing or wrong CSRF token (X-CSRF-Token header)');
      }
    }
    // Sliding expiry, written at most once a minute.
    const next = Math.min(found.createdAt + MAX_AGE_MS, now + this.#o.idleMinutes * 60_000);
    if (next - found.expiresAt > 60_000) await found.extend(next);
    if (found.principal.kind === 'mailbox') req.mailbox = found.principal.mailbox;
    else req.admin = found.principal.admin;
    req.sessionToken = token;
  }

  /** onRequest hook of a mailbox's routes. */
  readonly require = (req: FastifyRequest): Promise<void> => this.#authorize(req, 'mailbox');

  /** onRequest hook of every /api/admin route (registered once, on their scope). */
  readonly requireAdmin = (req: FastifyRequest): Promise<void> => this.#authorize(req, 'admin');
}

export function registerSessions(app: FastifyInstance): void {
  app.decorateRequest('mailbox', undefined);
  app.decorateRequest('sessionToken', undefined);
  app.decorateRequest('admin', undefined);
}

/** Who acts in a mailbox's web session, for the audit trail. */
export function webActor(req: FastifyRequest): Actor {
  return { channel: 'web', principal: `mailbox:${req.mailbox!.name}`, client: req.ip };
}

/** Who acts in an administrator's web session, for the audit trail. */
export function adminActor(req: FastifyRequest): Actor {
  return { channel: 'admin-web', principal: `admin:${req.admin!.name}`, client: req.ip };
}
