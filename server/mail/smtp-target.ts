import { readFileSync } from 'node:fs';
import type nodemailer from 'nodemailer';
import type { AudioStore, VoicemailStore } from '../domain/ports.ts';
import type {
  Delivery,
  DeliveryResult,
  DeliveryTarget,
  NoticeDelivery,
} from '../domain/delivery.ts';
import { renderVoicemail } from '../render/voicemail-mime.ts';

export interface SmtpServer {
  host: string;
  port: number;
  tls: 'implicit' | 'starttls' | 'opportunistic';
  plaintextFallback: boolean;
  user: string;
  password: string;
  authMethod: 'PLAIN' | 'LOGIN' | 'CRAM-MD5';
  from: string;
  domains: string[];
  caFile: string;
}

export interface SmtpTargetOptions {
  servers: SmtpServer[];
  /** Sender when neither the server entry nor the config names one (else the mailbox's own). */
  from: string;
  domain: string;
  webUrl?: string;
  /** This server's name, said in EHLO. */
  name: string;
  /** The target's time limit (`delivery.targets.smtp.timeoutSeconds`): SMTP's own are shorter. */
  timeoutMs?: number;
  /** Connections per server entry (`delivery.targets.smtp.concurrency`). */
  concurrency?: number;
}

/** The entry for a recipient: a later entry naming its domain, else the first (the default). */
export function serverFor(servers: SmtpServer[], recipient: string): SmtpServer | undefined {
  const domain = recipient.split('@').pop()!.toLowerCase();
  return (
    servers.slice(1).find((s) => s.domains.some((d) => d.toLowerCase() === domain)) ?? servers[0]
  );
}

type SmtpError = Error & { code?: string; responseCode?: number; response?: string };

/**
 * Whether a failure is for good: a 5xx answer to the envelope or the message. A refused
 * STARTTLS or login, or "530 authentication required", is a set-up problem an administrator can
 * fix, so the mail waits.
 */
export function isPermanent(err: SmtpError): boolean {
  return (
    (err.code === 'EENVELOPE' || err.code === 'EMESSAGE') &&
    typeof err.responseCode === 'number' &&
    err.responseCode >= 500 &&
    err.responseCode !== 530
  );
}

const TLS_ERRORS = new Set(['ETLS', 'ESOCKET']);

/** nodemailer (about 10 MiB of a server's memory) loads with the first mail sent. */
async function loadNodemailer(): Promise<typeof nodemailer> {
  return (await import('nodemailer')).default;
}

type Mail = Parameters<ReturnType<typeof nodemailer.createTransport>['sendMail']>[0];

/**
 * Delivers voicemail e-mail over SMTP with nodemailer: the same rendering as the IMAP view; and
 * notices, plain text mail from the server to an administrator (alarms), the same way. Its
 * connection and socket timeouts are shorter than the runner's time limit, so a silent server
 * ends the attempt here, not by the runner giving up on a mail that might still be accepted.
 */
export class SmtpTarget implements DeliveryTarget {
  readonly kind = 'smtp';
  readonly #o: SmtpTargetOptions;
  readonly #store: VoicemailStore;
  readonly #audio: AudioStore;
  /** One pooled connection per server entry, kept between mails (a TLS handshake each costs). */
  readonly #pools = new Map<SmtpServer, ReturnType<typeof nodemailer.createTransport>>();

  constructor(opts: SmtpTargetOptions, store: VoicemailStore, audio: AudioStore) {
    this.#o = opts;
    this.#store = store;
    this.#audio = audio;
  }

  #transport(mailer: typeof nodemailer, server: SmtpServer, plaintext: boolean) {
    if (plaintext) return this.#create(mailer, server, true);
    let pool = this.#pools.get(server);
    if (!pool) this.#pools.set(server, (pool = this.#create(mailer, server, false)));
    return pool;
  }

  /** Closes the kept connections. */
  close(): void {
    for (const pool of this.#pools.values()) pool.close();
    this.#pools.clear();
  }

  #create(mailer: typeof nodemailer, server: SmtpServer, plaintext: boolean) {
    // Each wait ends well before the runner's limit (30 s and 60 s at most, as before).
    const limit = Math.max(1000, Math.round((this.#o.timeoutMs ?? 120_000) * 0.8));
    return mailer.createTransport({
      pool: !plaintext,
      maxConnections: this.#o.concurrency ?? 1,
      host: server.host,
      port: server.port,
      name: this.#o.name,
      secure: server.tls === 'implicit',
      requireTLS: server.tls === 'starttls',
      ignoreTLS: plaintext,
      // Never a password over a connection without TLS (the fallback after a failed handshake).
      auth: server.user && !plaintext ? { user: server.user, pass: server.password } : undefined,
      authMethod: server.authMethod,
      tls: { minVersion: 'TLSv1.2', ...(server.caFile ? { ca: readFileSync(server.caFile) } : {}) },
      connectionTimeout: Math.min(30_000, limit),
      greetingTimeout: Math.min(30_000, limit),
      socketTimeout: Math.min(60_000, limit),
    });
  }

  async deliver(item: Delivery): Promise<DeliveryResult> {
    const server = serverFor(this.#o.servers, item.recipient);
    if (!server) return { status: 'retry', reason: 'no SMTP server configured (mail.servers)' };
    const mailbox = await this.#store.getMailbox(item.mailboxId);
    if (!mailbox) return { status: 'fail', reason: 'the mailbox no longer exists' };
    const sender = server.from || this.#o.from || mailbox.email || `voicemail@${this.#o.domain}`;
    const raw = await renderVoicemail({
      message: { ...item, id: item.voicemailId },
      mailbox,
      to: item.kind === 'manual' ? item.recipient : undefined,
      linkId: item.messageId ?? undefined,
      audio: item.kind === 'alert' ? null : await this.#audio.read(item.audio.key),
      domain: this.#o.domain,
      webUrl: this.#o.webUrl,
      from: sender,
    });
    return this.#send(server, { envelope: { from: sender, to: [item.recipient] }, raw });
  }

  /** A notice: plain text, marked as sent by a machine so that no one's autoreply answers it. */
  async deliverNotice(item: NoticeDelivery): Promise<DeliveryResult> {
    const server = serverFor(this.#o.servers, item.recipient);
    if (!server) return { status: 'retry', reason: 'no SMTP server configured (mail.servers)' };
    const sender = server.from || this.#o.from || `voicemail@${this.#o.domain}`;
    return this.#send(server, {
      from: sender,
      to: item.recipient,
      subject: item.notice.subject,
      text: item.notice.text,
      headers: { 'Auto-Submitted': 'auto-generated' },
    });
  }

  /** Sends one mail by `server`, falling back to plain text where its entry allows it. */
  async #send(server: SmtpServer, mail: Mail): Promise<DeliveryResult> {
    const mailer = await loadNodemailer();
    try {
      const info = await this.#transport(mailer, server, false).sendMail(mail);
      return { status: 'ok', detail: `${server.host}: ${info.response}` };
    } catch (err) {
      const e = err as SmtpError;
      // Opportunistic TLS that failed may fall back to plain text, where the entry allows it.
      if (
        server.tls === 'opportunistic' &&
        server.plaintextFallback &&
        TLS_ERRORS.has(e.code ?? '')
      ) {
        try {
          const info = await this.#transport(mailer, server, true).sendMail(mail);
          return { status: 'ok', detail: `${server.host} (without TLS): ${info.response}` };
        } catch (err2) {
          return this.#result(err2 as SmtpError, server);
        }
      }
      return this.#result(e, server);
    }
  }

  #result(err: SmtpError, server: SmtpServer): DeliveryResult {
    const reason = `${server.host}:${server.port}: ${err.response ?? err.message}`;
    return isPermanent(err) ? { status: 'fail', reason } : { status: 'retry', reason };
  }
}
