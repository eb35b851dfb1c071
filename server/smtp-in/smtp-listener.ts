import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import {
  SMTPServer,
  type SMTPServerAddress,
  type SMTPServerDataStream,
  type SMTPServerSession,
} from 'smtp-server';
import type { MailboxService } from '../domain/mailbox-service.ts';
import type { Message } from '../domain/message.ts';
import type { MessageService } from '../domain/message-service.ts';
import {
  ConnectionLimits,
  type ConnectionSlot,
  type ConnectionStats,
  type LimitsConfig,
} from '../net/connection-limits.ts';
import { isClientGone } from '../net/client-errors.ts';
import { peerFilter } from './peers.ts';
import { parseAddress, resolveRecipient } from './recipients.ts';
import { syncAddressOf } from '../domain/addressing.ts';
import type { SyncInbox } from '../domain/peer-trust.ts';
import { isInternal, reply, toSmtpReply } from './replies.ts';
import { readVoicemail, type MailVoicemail } from './voicemail-mail.ts';
import { ReceiveBuffers } from './receive-buffers.ts';

export interface SmtpOptions {
  host: string;
  /** 0 picks a free one. */
  port: number;
  /** The server's certificate, offered with STARTTLS. */
  tls: { key: Buffer; cert: Buffer };
  /** The only mail domain accepted (`server.domain`). */
  domain: string;
  maxMessageBytes: number;
  /** IP addresses and CIDR ranges allowed to connect; empty allows everyone. */
  allowedPeers: string[];
  /** AUTH (PLAIN, LOGIN; after STARTTLS) with a mailbox and its code before MAIL. */
  requireAuth: boolean;
  /** Connections per client address and in all, the TLS handshake and session deadlines. */
  limits: LimitsConfig;
}

export interface SmtpServices {
  mailboxes: MailboxService;
  messages: MessageService;
  log: Logger;
  /** Where mail to vmsyncmaster@ and vmsyncslave@ goes, on a server with peers. */
  sync?: SyncInbox;
}

export interface SmtpPart {
  /** Binds the listener. */
  listen(): Promise<void>;
  /** The port actually bound (a port of 0 in the options picks a free one); 0 before listen. */
  readonly port: number;
  /** Connections open and refused. */
  stats(): ConnectionStats;
  close(): Promise<void>;
}

/** smtp-server's connection object (`server.connections`); only what the deadlines need. */
interface SmtpConnection {
  session: SMTPServerSession;
  secure: boolean;
  _upgrading: boolean;
  _socket: Socket;
  send(code: number, message: string): void;
  close(): void;
  upgrade(...args: unknown[]): void;
}

const CLOSE_TIMEOUT_MS = 1000;
/**
 * Mails' and audio buffers kept for the next mails (receive-buffers.ts): 32 MiB is DATA and
 * audio of about a dozen 1 MB voicemails at once; none once no mail has come for 10 s.
 */
const RECEIVE_BUFFERS = { keepBytes: 32 * 1024 * 1024, idleMs: 10_000 };

/** The size the sender declared in MAIL FROM (RFC 1870 SIZE=), else 0. */
function declaredSize(session: SMTPServerSession): number {
  const args = session.envelope.mailFrom ? session.envelope.mailFrom.args : false;
  const size = args && typeof args === 'object' ? Number(args.SIZE) : 0;
  return Number.isSafeInteger(size) && size > 0 ? size : 0;
}

/** Reads DATA, keeping at most `limit` bytes (the rest is read and dropped); `bytes` counts all. */
function readAll(
  stream: SMTPServerDataStream,
  limit: number,
): Promise<{ raw: Buffer; bytes: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= limit) chunks.push(chunk);
    });
    stream.once('end', () => resolve({ raw: Buffer.concat(chunks), bytes }));
    stream.once('error', reject);
  });
}

/**
 * The inbound SMTP listener: voicemail arriving as mail with a WAV attached, for mailboxes of
 * this server's domain only. It is never a relay. 250 is said only once every deposit is durable.
 */
export function buildSmtp(services: SmtpServices, opts: SmtpOptions): SmtpPart {
  const { mailboxes, messages, log } = services;
  const allowed = peerFilter(opts.allowedPeers);
  const maxMB = Math.round((opts.maxMessageBytes / 1024 / 1024) * 10) / 10;
  // Each accepted recipient's mailbox, keyed by the address object smtp-server keeps in the
  // envelope, so DATA delivers to what RCPT accepted.
  const mailboxOf = new WeakMap<SMTPServerAddress, string>();
  // Accepted sync recipients: a sync mail goes alone, never with voicemail for mailboxes.
  const syncOf = new WeakMap<SMTPServerAddress, string>();
  // One child logger per connection (smtp-server keeps a connection's session object for all
  // its mails), made when first needed: pino redacts a child's bindings as it makes it, about a
  // tenth of a millisecond that every mail paid when each made its own.
  const logs = new WeakMap<SMTPServerSession, Logger>();
  const sessionLog = (s: SMTPServerSession): Logger => {
    let child = logs.get(s);
    if (!child) logs.set(s, (child = log.child({ cid: s.id, remote: s.remoteAddress })));
    return child;
  };

  /**
   * One deposit per mailbox (two addresses of one mailbox store it once), each under the mail's
   * identity: a retry of a mail stored in part stores the rest, once.
   */
  const depositAll = async (
    names: string[],
    mail: MailVoicemail,
    l: Logger,
  ): Promise<Message[]> => {
    const stored: Message[] = [];
    for (const mailbox of names) {
      try {
        stored.push(...(await messages.deposit({ mailbox, ...mail, channel: 'smtp' })));
      } catch (err) {
        // A retry by the sender finds these stored (its Message-ID) and stores the rest.
        if (stored.length > 0)
          l.warn({ stored: stored.map((m) => m.id), failed: mailbox }, 'mail stored in part');
        throw err;
      }
    }
    return stored;
  };

  const receiving = new ReceiveBuffers(RECEIVE_BUFFERS);
  const limits = new ConnectionLimits('smtp', opts.limits, log);
  const { handshakeSeconds, preAuthSeconds } = opts.limits;
  const slots = new WeakMap<SMTPServerSession, ConnectionSlot>();
  /**
   * SMTP has no login for ordinary senders, so the whole session has a deadline: from connect
   * to the start of DATA, and again for the message and its reply. smtp-server's own timeout
   * is an idle one, which a byte every minute would extend for ever.
   */
  const sessionDeadline = (session: SMTPServerSession): void =>
    slots.get(session)?.deadline('session', preAuthSeconds, 'Timeout - closing connection');
  /** The deadlines learn how to say goodbye once smtp-server has a connection object. */
  const attach = (session: SMTPServerSession): void => {
    const connections = (server as unknown as { connections: Set<SmtpConnection> }).connections;
    const connection = [...connections].find((c) => c.session === session);
    const slot = connection && limits.slotOf(connection._socket);
    if (!connection || !slot) return;
    slots.set(session, slot);
    slot.expire = (reason) => {
      if (!connection._upgrading) return connection.send(421, reason);
      // Mid-handshake (STARTTLS) a plaintext reply would only garble it.
      connection.close();
      connection._socket.destroy();
    };
    const upgrade = connection.upgrade;
    connection.upgrade = function (this: SmtpConnection, ...args: unknown[]) {
      slot.deadline('handshake', handshakeSeconds, 'TLS handshake timeout', () => !this.secure);
      return upgrade.apply(this, args);
    };
  };

  /** A sync mail: checked and applied by the inbox; refusals are logged with their reason. */
  const receiveSync = (
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    inbox: SyncInbox,
    to: string,
    cb: (err?: Error | null, message?: string) => void,
  ): void => {
    const l = sessionLog(session);
    readAll(stream, opts.maxMessageBytes)
      .then(async ({ raw, bytes }) => {
        if (stream.sizeExceeded || bytes > opts.maxMessageBytes)
          throw reply(552, `message exceeds the maximum size of ${maxMB} MB`);
        const text = await inbox.receive(raw, to, {
          secure: session.secure,
          remote: session.remoteAddress,
        });
        sessionDeadline(session);
        cb(null, text);
      })
      .catch((err: unknown) => {
        const answer = toSmtpReply(err);
        if (isInternal(err)) l.error({ err, to }, 'sync mail failed');
        else
          l.warn({ to, reply: answer.responseCode, reason: answer.message }, 'sync mail refused');
        sessionDeadline(session);
        cb(answer);
      });
  };

  const server = new SMTPServer({
    name: opts.domain,
    banner: 'Voicegate voicemail',
    key: opts.tls.key,
    cert: opts.tls.cert,
    minVersion: 'TLSv1.2',
    size: opts.maxMessageBytes,
    disabledCommands: opts.requireAuth ? [] : ['AUTH'],
    authOptional: !opts.requireAuth,
    authMethods: ['PLAIN', 'LOGIN'],
    authRequiredMessage: 'authentication required: STARTTLS, then AUTH with a mailbox and its code',
    disableReverseLookup: true,
    maxRecipients: 100,
    logger: false,
    closeTimeout: CLOSE_TIMEOUT_MS,

    onConnect(session, cb) {
      attach(session);
      if (allowed && !allowed(session.remoteAddress)) {
        sessionLog(session).warn({}, 'connection refused: not in smtp.allowedPeers');
        return cb(reply(554, 'this server does not accept mail from your address'));
      }
      cb();
    },

    onAuth(auth, session, cb) {
      const remote = session.remoteAddress;
      mailboxes
        .authenticate(auth.username ?? '', auth.password ?? '', { channel: 'smtp', remote })
        .then(
          (mailbox) => cb(null, { user: mailbox.name }),
          (err: unknown) => cb(toSmtpReply(err)),
        );
    },

    onRcptTo(address, session, cb) {
      const sync = syncAddressOf(parseAddress(address.address), opts.domain);
      const others = session.envelope.rcptTo;
      if (sync && services.sync) {
        try {
          if (others.some((r) => !syncOf.has(r)))
            throw reply(550, 'sync mail goes alone: send it to its sync address only');
          services.sync.checkRecipient(sync, {
            secure: session.secure,
            remote: session.remoteAddress,
          });
          syncOf.set(address, sync);
          return cb();
        } catch (err) {
          const answer = toSmtpReply(err);
          sessionLog(session).warn(
            { to: address.address, reply: answer.responseCode, reason: answer.message },
            'sync recipient refused',
          );
          return cb(answer);
        }
      }
      if (others.some((r) => syncOf.has(r)))
        return cb(reply(550, 'sync mail goes alone: send it to its sync address only'));
      resolveRecipient(address.address, opts.domain, mailboxes).then(
        (mailbox) => {
          mailboxOf.set(address, mailbox);
          cb();
        },
        (err: unknown) => {
          const answer = toSmtpReply(err);
          if (isInternal(err)) sessionLog(session).error({ err }, 'recipient check failed');
          else
            sessionLog(session).info(
              { to: address.address, reply: answer.responseCode, reason: answer.message },
              'recipient refused',
            );
          cb(answer);
        },
      );
    },

    onData(stream, session, cb) {
      const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
      const rcpts = session.envelope.rcptTo;
      const envelope = { from, to: rcpts.map((r) => r.address), user: session.user as unknown };
      const names = [...new Set(rcpts.map((r) => mailboxOf.get(r)).filter((n) => n != null))];
      const l = sessionLog(session);
      sessionDeadline(session);
      const sync = rcpts.map((r) => syncOf.get(r)).find((to) => to !== undefined);
      if (sync && services.sync) return receiveSync(stream, session, services.sync, sync, cb);
      receiving
        .read(stream, opts.maxMessageBytes, declaredSize(session))
        .then(async ({ raw, bytes, release }) => {
          // The audio goes into a buffer of the pool too, given back once it is stored: a
          // deposit writes the audio out and keeps only its length.
          let audio: Buffer | undefined;
          try {
            let read: MailVoicemail;
            try {
              if (stream.sizeExceeded || bytes > opts.maxMessageBytes)
                throw reply(552, `message exceeds the maximum size of ${maxMB} MB`);
              read = await readVoicemail(raw, from, (n) => (audio = receiving.take(n)));
            } finally {
              release();
            }
            // Without a Message-ID, one new identity still makes it one voicemail in every mailbox.
            const mail = { ...read, identity: read.identity ?? messages.newIdentity() };
            const stored = await depositAll(names, mail, l);
            l.info(
              {
                ...envelope,
                bytes,
                identity: mail.identity,
                callerNumber: mail.callerNumber,
                messages: stored.map((m) => ({ id: m.id, mailboxId: m.mailboxId })),
              },
              'mail accepted',
            );
          } finally {
            if (audio) receiving.giveBack(audio);
          }
          sessionDeadline(session);
          cb(null, 'voicemail stored');
        })
        .catch((err: unknown) => {
          const answer = toSmtpReply(err);
          if (isInternal(err)) l.error({ err, ...envelope }, 'mail failed');
          else
            l.info(
              { ...envelope, reply: answer.responseCode, reason: answer.message },
              'mail refused',
            );
          sessionDeadline(session);
          cb(answer);
        });
    },
  });

  limits.guard(server.server, {
    refuse: (socket) =>
      socket.write(`421 ${opts.domain} Too many connections, try again later\r\n`),
    admitted: (slot) => slot.deadline('session', preAuthSeconds, 'Timeout - closing connection'),
  });

  let port = 0;
  return {
    listen: () =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port, opts.host, () => {
          server.off('error', reject);
          const address = server.server.address();
          port = typeof address === 'object' && address ? address.port : opts.port;
          // Connection-level trouble (resets, TLS handshakes abandoned) is the client's.
          server.on('error', (err: Error) =>
            isClientGone(err)
              ? log.info({ err }, 'smtp client gone')
              : log.warn({ err }, 'smtp connection error'),
          );
          resolve();
        });
      }),
    get port() {
      return port;
    },
    stats: () => limits.stats(),
    close: async () => {
      // Sessions are closed after closeTimeout; anything left (a socket the session never
      // took) goes then.
      if (!port) return;
      const stragglers = setTimeout(() => limits.destroyAll(), CLOSE_TIMEOUT_MS + 500);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      clearTimeout(stragglers);
    },
  };
}
