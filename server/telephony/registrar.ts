import { isVoicegateError } from '../domain/errors.ts';
import type { MailboxService } from '../domain/mailbox-service.ts';
import type { IncomingRequest } from '../sip/api.ts';
import { getHeader, getHeaders, parseNameAddr, parseUri, splitCommas } from '../sip/message.ts';

const MAX_EXPIRES = 3600;

/** Who sent a REGISTER or SUBSCRIBE: a trusted PBX, or a phone that proved its extension. */
export type Principal = { peer: true } | { extension: string };

interface Binding {
  contact: string;
  expiresAt: number;
}

/**
 * A minimal registrar for phones that want their lamp from us directly: a REGISTER for a
 * mailbox's extension binds its contact (and baresip, for one, subscribes to message waiting
 * only after a successful registration). "Play on my phone" calls the bound contact, so only
 * the phone holding that extension's SIP credentials, or a trusted PBX, may bind it.
 */
export class Registrar {
  readonly #mailboxes: MailboxService;
  readonly #bindings = new Map<string, Binding>();

  constructor(mailboxes: MailboxService) {
    this.#mailboxes = mailboxes;
  }

  /** The registered contact of an extension, if it is fresh. */
  contactOf(extension: string): string | null {
    const b = this.#bindings.get(extension);
    if (!b) return null;
    if (b.expiresAt <= Date.now()) {
      this.#bindings.delete(extension);
      return null;
    }
    return b.contact;
  }

  async register(req: IncomingRequest, principal: Principal): Promise<void> {
    let user: string | undefined;
    try {
      user = parseUri(parseNameAddr(getHeader(req.request, 'to') ?? '').uri).user;
    } catch {
      return req.respond(400, 'Bad To');
    }
    try {
      const mailbox = user ? await this.#mailboxes.resolve(user) : null;
      if (!mailbox?.extension) return req.respond(404, 'Not Found');
      // A phone binds its own extension only: its contact is where that mailbox's messages play.
      if ('extension' in principal && principal.extension !== mailbox.extension)
        return req.respond(403, 'Forbidden');
      user = mailbox.extension;
    } catch (err) {
      if (isVoicegateError(err, 'NOT_FOUND')) return req.respond(404, 'Not Found');
      throw err;
    }
    const contacts = getHeaders(req.request, 'contact').flatMap(splitCommas);
    const headerExpires = Number(getHeader(req.request, 'expires') ?? MAX_EXPIRES);
    if (contacts.length === 0) {
      const current = this.contactOf(user);
      return req.respond(200, undefined, current ? { headers: { Contact: `<${current}>` } } : {});
    }
    if (contacts[0]!.trim() === '*') {
      this.#bindings.delete(user);
      return req.respond(200);
    }
    const na = parseNameAddr(contacts[0]!);
    const asked = na.params.expires !== undefined ? Number(na.params.expires) : headerExpires;
    const expires = Number.isFinite(asked)
      ? Math.min(MAX_EXPIRES, Math.max(0, asked))
      : MAX_EXPIRES;
    if (expires === 0) {
      this.#bindings.delete(user);
      return req.respond(200);
    }
    this.#bindings.set(user, { contact: na.uri, expiresAt: Date.now() + expires * 1000 });
    req.respond(200, undefined, {
      headers: { Contact: `<${na.uri}>;expires=${expires}`, Expires: String(expires) },
    });
  }
}
