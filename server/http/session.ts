import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { VoicegateError } from '../domain/errors.ts';
import type { MailboxRecord } from '../domain/mailbox.ts';
import type { Actor } from '../domain/audit.ts';
import type { VoicemailStore } from '../domain/ports.ts';

export const SESSION_COOKIE = 'vg_session';
export const CSRF_HEADER = 'x-csrf-token';
const MAX_AGE_MS = 12 * 3_600_000;

declare module 'fastify' {
  interface FastifyRequest {
    /** The logged-in mailbox, set by `requireSession`. */
    mailbox?: MailboxRecord;
    sessionToken?: string;
  }
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

  async create(reply: FastifyReply, mailboxId: number): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    const now = Date.now();
    await this.#o.store.createWebSession({
      tokenHash: hash(token),
      mailboxId,
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
    if (token) await this.#o.store.deleteWebSession(hash(token));
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
  }

  /** Ends the mailbox's other sessions (after its code changed). */
  async endOthers(req: FastifyRequest): Promise<void> {
    await this.#o.store.deleteWebSessionsOf(
      req.mailbox!.id,
      req.sessionToken ? hash(req.sessionToken) : '',
    );
  }

  /** The session's CSRF token for `GET /api/session`. */
  async csrfToken(req: FastifyRequest): Promise<string> {
    const s = await this.#o.store.getWebSession(hash(req.sessionToken!), Date.now());
    return s!.csrfToken;
  }

  /**
   * onRequest hook: 401 without a live session; 403 for a change without the CSRF token. It runs
   * before the body is read, so a request nobody may make is refused without buffering its body.
   */
  readonly require = async (req: FastifyRequest): Promise<void> => {
    const token = req.cookies[SESSION_COOKIE];
    const now = Date.now();
    const session = token ? await this.#o.store.getWebSession(hash(token), now) : null;
    if (!token || !session)
      throw new VoicegateError('UNAUTHENTICATED', 'not logged in, or the session has expired');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const sent = req.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !sameText(sent, session.csrfToken)) {
        throw new VoicegateError('FORBIDDEN', 'missing or wrong CSRF token (X-CSRF-Token header)');
      }
    }
    const mailbox = await this.#o.store.getMailbox(session.mailboxId);
    if (!mailbox) throw new VoicegateError('UNAUTHENTICATED', 'the mailbox no longer exists');
    // Sliding expiry, written at most once a minute.
    const next = Math.min(session.createdAt + MAX_AGE_MS, now + this.#o.idleMinutes * 60_000);
    if (next - session.expiresAt > 60_000)
      await this.#o.store.extendWebSession(session.tokenHash, next);
    req.mailbox = mailbox;
    req.sessionToken = token;
  };
}

export function registerSessions(app: FastifyInstance): void {
  app.decorateRequest('mailbox', undefined);
  app.decorateRequest('sessionToken', undefined);
}

/** Who acts in a mailbox's web session, for the audit trail. */
export function webActor(req: FastifyRequest): Actor {
  return { channel: 'web', principal: `mailbox:${req.mailbox!.name}`, client: req.ip };
}
