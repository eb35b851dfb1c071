import { hostname } from 'node:os';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { MailboxService } from '../server/domain/mailbox-service.ts';
import type { MessageService } from '../server/domain/message-service.ts';
import type { AudioStore, VoicemailStore } from '../server/domain/ports.ts';
import {
  ConnectionLimits,
  type ConnectionStats,
  type LimitsConfig,
} from '../server/net/connection-limits.ts';
import { isClientGone } from '../server/net/client-errors.ts';
import type { ImapDeps, ImapLogger } from './deps.ts';
import {
  hook,
  IMAPServer,
  routeImapCoreErrors,
  type Callback,
  type ImapSession,
} from './imap-core.ts';
import { limitImap } from './imap-limits.ts';
import { QuietTurns } from './quiet-turns.ts';
import { closeSessions, connectionOf, endIdle } from './imap-shutdown.ts';
import { isInternal } from './replies.ts';
import { messageHooks } from './message-hooks.ts';
import { MessageSource } from './message-source.ts';
import { ImapNotifier } from './notifier.ts';
import { sessionHooks } from './session-hooks.ts';

export interface ImapOptions {
  host: string;
  /** STARTTLS port; 0 picks a free one. */
  port: number;
  /** Implicit TLS port; 0 picks a free one. */
  tlsPort: number;
  allowPlaintextAuth: boolean;
  tls: { key: Buffer; cert: Buffer };
  domain: string;
  /** The web player's address for links, read when a message is rendered (known once HTTP listens). */
  webUrl?: () => string | undefined;
  quotaBytes: number;
  version: string;
  /** Connections per client address and in all, TLS handshake and login deadlines. */
  limits: LimitsConfig;
}

export interface ImapServices {
  mailboxes: MailboxService;
  messages: MessageService;
  store: VoicemailStore;
  audio: AudioStore;
  log: ImapLogger & { child?(bindings: object): unknown };
}

export interface ImapPart {
  /** Binds both listeners; the ports bound are in `ports` after. */
  listen(): Promise<void>;
  /** The ports actually bound (a port of 0 in the options picks a free one); 0 before listen. */
  readonly ports: { plain: number; tls: number };
  /** Connections open and refused, per listener. */
  stats(): { imap: ConnectionStats; imaps: ConnectionStats };
  close(): Promise<void>;
}

/**
 * Each session's child logger, carrying `{cid, proto, mailbox}` (the mailbox once logged in),
 * made once per session and again when its user changes.
 */
function sessionLogs(log: ImapServices['log']): (session: ImapSession | undefined) => ImapLogger {
  const made = new WeakMap<ImapSession, { mailbox: string | undefined; log: ImapLogger }>();
  return (session) => {
    if (!session?.id || !log.child) return log;
    const mailbox = session.user?.username;
    const known = made.get(session);
    if (known && known.mailbox === mailbox) return known.log;
    const child = log.child({ cid: session.id, proto: 'imap', mailbox }) as ImapLogger;
    made.set(session, { mailbox, log: child });
    return child;
  };
}
const CLOSE_TIMEOUT_MS = 2000;
const MAX_LINE = 64 * 1024;

/** Both IMAP listeners (STARTTLS and implicit TLS) on one set of hooks and one notifier. */
export function buildImap(services: ImapServices, opts: ImapOptions): ImapPart {
  routeImapCoreErrors((report) => services.log.warn({ report }, 'imap connection error'));
  const notifier = new ImapNotifier(services.store);
  const deps: ImapDeps = {
    mailboxes: services.mailboxes,
    messages: services.messages,
    store: services.store,
    source: new MessageSource(services.store, services.audio, {
      domain: opts.domain,
      webUrl: opts.webUrl,
    }),
    notifier,
    quotaBytes: opts.quotaBytes,
    log: services.log,
    sessionLog: sessionLogs(services.log),
  };
  const context: SecureContext = createSecureContext({ ...opts.tls, minVersion: 'TLSv1.2' });
  // imap-core calls SNICallback both ways: (servername, cb) from Node for STARTTLS and
  // ({servername}, cb) itself for implicit TLS. One certificate serves every name.
  const SNICallback = (
    _name: unknown,
    cb: (err: Error | null, ctx?: SecureContext) => void,
  ): void => cb(null, context);

  // imap-core's default name is `os.hostname()` read for each connection, a string of its own
  // per session; read once here, it is one string for all.
  const serverName = hostname().toLowerCase();
  // One line for both listeners (session set-ups and log-ins): they share the event loop.
  const turns = new QuietTurns();
  const limits = {
    plain: new ConnectionLimits('imap', opts.limits, services.log),
    tls: new ConnectionLimits('imaps', opts.limits, services.log),
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- imap-core is untyped
  const make = (secure: boolean): any => {
    const server = new IMAPServer({
      secure,
      // Multi-line replies must not wait for Nagle's algorithm and the client's delayed ACK.
      noDelay: true,
      // Long ID values (RFC 2971 allows about 30 KB) and long UID sets: imap-core's 8 KiB
      // refuses lines real clients send. Still bounded: a longer line answers BAD.
      maxLineLength: MAX_LINE,
      // No reverse DNS lookup before the greeting (the patch in patches/): it delayed every
      // greeting by up to a second, and the logs carry the address.
      disableReverseLookup: true,
      // On the plain port the greeting goes out as the connection is accepted and the session is
      // set up in a turn without new connections (the patch; quiet-turns.ts): in a burst each
      // greeting waits only for the accepts before it. The TLS port greets after its handshake.
      deferSetup: (setup: () => void) => turns.take(setup),
      name: serverName,
      ...opts.tls,
      minVersion: 'TLSv1.2',
      SNICallback,
      ignoreSTARTTLS: !secure && opts.allowPlaintextAuth,
      id: { name: 'Voicegate', version: opts.version, vendor: 'Voicegate' },
      logger: false,
      skipFetchLog: true,
      enableCompression: true,
      logoutMessages: ['Bye'],
      closeTimeout: CLOSE_TIMEOUT_MS,
      onClose: (session: ImapSession, cb: Callback) => {
        endIdle(connectionOf(session));
        cb(null);
      },
    });
    server.notifier = notifier;
    server.loggelf = () => {};
    // Connection-level trouble (resets, TLS handshakes abandoned) is the client's, not ours.
    server.on('error', (err: Error) =>
      isClientGone(err)
        ? services.log.info({ err }, 'imap client gone')
        : services.log.error({ err }, 'imap server error'),
    );
    const onError = (err: unknown, session: ImapSession | undefined): void => {
      const log = deps.sessionLog(session);
      if (isInternal(err)) log.error({ err }, 'imap command failed');
      else log.info({ err }, 'imap command refused');
    };
    const hooks = { ...sessionHooks(deps), ...messageHooks(deps) };
    for (const [name, fn] of Object.entries(hooks)) {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- hook arguments come from imap-core
      server[name] = hook(fn as (...a: any[]) => Promise<unknown[]>, onError);
    }
    server.onLsub = server.onList;
    server.onUnsubscribe = server.onSubscribe;
    // LOGIN and AUTHENTICATE alike (quiet-turns.ts).
    const onAuth = server.onAuth;
    server.onAuth = (...args: unknown[]) => turns.take(() => onAuth(...args));
    server.onConnect = limitImap(server, secure ? limits.tls : limits.plain, secure);
    server.server.on('connection', () => turns.accepted());
    return server;
  };

  const plain = make(false);
  const tls = make(true);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- imap-core is untyped
  const listen = (server: any, port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(port, opts.host, () => {
        server.server.off('error', reject);
        resolve(server.server.address().port);
      });
    });
  const ports = { plain: 0, tls: 0 };
  const listenBoth = async (): Promise<void> => {
    ports.plain = await listen(plain, opts.port).catch((err: Error) =>
      Promise.reject(Object.assign(err, { listenKey: 'port' })),
    );
    try {
      ports.tls = await listen(tls, opts.tlsPort).catch((err: Error) =>
        Promise.reject(Object.assign(err, { listenKey: 'tlsPort' })),
      );
    } catch (err) {
      await new Promise((r) => plain.close(r));
      ports.plain = 0;
      throw err;
    }
  };
  const closeAll = async (): Promise<void> => {
    notifier.close();
    // A listener that never bound (the part was built, not started) has nothing to close.
    const closed = Promise.all([
      ports.plain ? new Promise((r) => plain.close(r)) : null,
      ports.tls ? new Promise((r) => tls.close(r)) : null,
    ]);
    closeSessions(plain);
    closeSessions(tls);
    // A session that does not take its end gets closeTimeout; sockets still in their TLS
    // handshake are not sessions yet and would hold the close up until their deadline.
    const stragglers = setTimeout(() => {
      limits.plain.destroyAll();
      limits.tls.destroyAll();
    }, CLOSE_TIMEOUT_MS + 500);
    await closed;
    clearTimeout(stragglers);
  };
  return {
    listen: listenBoth,
    ports,
    stats: () => ({ imap: limits.plain.stats(), imaps: limits.tls.stats() }),
    close: closeAll,
  };
}
