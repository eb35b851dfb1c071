import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { Phone } from './telephony/phone.ts';
import { fileURLToPath } from 'node:url';
import { WebSessions } from './http/session.ts';
import { hasCommand } from './tools.ts';
import type { FastifyInstance } from 'fastify';
import { createContext, packageVersion, type Context } from './context.ts';
import type { LoadedConfig } from './config/load.ts';
import { ensureSelfSignedCert } from './config/tls-cert.ts';
import { startHousekeeping } from './housekeeping-scheduler.ts';
import { DeliveryRunner, workerId } from './delivery/delivery-runner.ts';
import { SmtpTarget } from './mail/smtp-target.ts';
import { buildApp } from './http/app.ts';
import { httpListener } from './http/http-server.ts';
import { addressList } from './domain/address-list.ts';
import type { ConnectionStats } from './net/connection-limits.ts';
import { startImap } from '../imap/imap-server.ts';
import { startSmtp } from './smtp-in/smtp-listener.ts';
import type { Logger } from './log.ts';
import { VoicegateError } from './domain/errors.ts';

/** A listener that cannot bind names the config key to change. */
function listenError(err: unknown, key: string, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const section = key.split('.')[0];
  if (code === 'EADDRINUSE')
    return new VoicegateError(
      'UNAVAILABLE',
      `${host}:${port} is in use: set ${key} (or ${section}.host) to a free one`,
    );
  if (code === 'EACCES')
    return new VoicegateError(
      'FORBIDDEN',
      `no permission to listen on ${host}:${port}: ports below 1024 need root; set ${key}`,
    );
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return new VoicegateError(
      'INVALID_INPUT',
      `${section}.host "${host}" is not an address of this machine`,
    );
  return err;
}

export interface RunningServer {
  context: Context;
  http: FastifyInstance;
  /** The addresses actually bound (a port of 0 in the config picks a free one). */
  urls: { http: string };
  ports: { http: number; imap: number; imaps: number; smtp: number; sip: number };
  phone: Phone;
  /** Closes every part at once, then the store; each part ends its own sessions and timers. */
  close(): Promise<void>;
  /** The parts whose close has not finished yet (named for the log of a shutdown that hangs). */
  closing(): string[];
}

/** Starts every listener of the process. */
export async function startServer(loaded: LoadedConfig, log: Logger): Promise<RunningServer> {
  const { config } = loaded;
  const context = createContext(loaded, log, { sweep: true });
  // The listeners and runners close side by side, so one slow part does not add its delay to
  // the others'; the store last, once nothing writes to it any more.
  const closers: (() => Promise<void>)[] = [() => context.close()];
  const parts = new Map<string, () => Promise<void>>();
  const pending = new Set<string>();
  const closeAll = async (): Promise<void> => {
    const closing = [...parts].reverse();
    parts.clear();
    await Promise.all(
      closing.map(async ([name, close]) => {
        pending.add(name);
        try {
          await close();
        } catch (err) {
          log.warn({ err, part: name }, 'closing failed');
        } finally {
          pending.delete(name);
        }
      }),
    );
    pending.add('store');
    for (const close of closers.splice(0).reverse()) await close();
    pending.delete('store');
  };
  // A last-resort net, not the fix: every path a peer can reach contains its own failures, but a
  // promise some future change forgets would otherwise end every call and session at once.
  // Only rejections: after a synchronous throw escaped, state may be half-changed, so an
  // uncaught exception still ends the process.
  const onUnhandled = (err: unknown): void =>
    log.error({ err }, 'unhandled promise rejection (a bug): serving on');
  process.on('unhandledRejection', onUnhandled);
  closers.push(async () => void process.off('unhandledRejection', onUnhandled));
  try {
    if (await ensureSelfSignedCert(loaded.tlsCert, loaded.tlsKey, config.server.domain)) {
      log.info({ cert: loaded.tlsCert }, 'created a self-signed TLS certificate');
    }
    const tls = { key: readFileSync(loaded.tlsKey), cert: readFileSync(loaded.tlsCert) };

    const phone = await Phone.start(
      {
        mailboxes: context.mailboxes,
        messages: context.messages,
        feed: context.store.feed,
        policy: config.policy,
        log: log.child({ proto: 'sip' }),
      },
      {
        ...config.sip,
        limits: config.limits,
        flowsFile: isAbsolute(config.sip.flowsFile)
          ? config.sip.flowsFile
          : join(loaded.dataDir, config.sip.flowsFile),
        domain: config.server.domain,
        language: config.server.locale,
        timeZone: config.server.timeZone,
        version: packageVersion(),
      },
    ).catch((err: unknown) => {
      throw listenError(err, 'sip.port', config.sip.host, config.sip.port);
    });
    parts.set('sip', () => phone.close());

    const listeners: Record<string, () => ConnectionStats> = {};
    if (config.sip.tcp)
      listeners.sip = () => {
        // SIP over TCP keeps its own limits (server/sip); counted here beside the others.
        const { tcpAccepted, tcpRefused } = phone.ua.transport.stats();
        const { perAddress, total } = config.limits;
        return { active: tcpAccepted, refused: tcpRefused, perAddress, total };
      };

    const proxies = addressList('http.trustProxy', config.http.trustProxy);
    const web = httpListener({
      https: config.http.tls ? tls : undefined,
      limits: { ...config.limits, shared: proxies },
      log: log.child({ proto: 'http' }),
    });
    listeners.http = () => web.stats();
    const http = await buildApp({
      log,
      https: config.http.tls ? tls : undefined,
      serverFactory: web.serverFactory,
      trustProxy: config.http.trustProxy.length ? (address: string) => proxies(address) : false,
      connections: () =>
        Object.fromEntries(Object.entries(listeners).map(([name, stats]) => [name, stats()])),
      calls: () => {
        const { active, total, refused, refusedPerSource } = phone.counter.stats();
        const dial = phone.dialler.stats();
        return {
          active,
          total,
          refused,
          refusedPerSource,
          dialAllowed: dial.allowed,
          dialRefused: dial.refused,
        };
      },
      version: packageVersion(),
      api: {
        mailboxes: context.mailboxes,
        messages: context.messages,
        store: context.store,
        audio: context.audio,
        sessions: new WebSessions({
          store: context.store,
          idleMinutes: config.http.sessionIdleMinutes,
          secureCookie: config.http.tls,
        }),
        tools: { ffmpeg: hasCommand('ffmpeg'), sox: hasCommand('sox') },
        phone: { playOnPhone: (mailbox, id, to) => phone.playOnPhone.call(mailbox, id, to) },
      },
      webRoot: fileURLToPath(new URL('../web/dist', import.meta.url)),
      readiness: async () => {
        try {
          context.store.db.prepare('SELECT 1').get();
          return null;
        } catch (err) {
          return `store unavailable: ${(err as Error).message}`;
        }
      },
    });
    try {
      await http.listen({ host: config.http.host, port: config.http.port });
    } catch (err) {
      throw listenError(err, 'http.port', config.http.host, config.http.port);
    }
    parts.set('http', async () => {
      // Fastify closes idle keep-alive connections and the event streams (their preClose hook);
      // a request still running gets a moment, then every socket goes, including those still in
      // their TLS handshake, which are no requests Fastify could close.
      const stragglers = setTimeout(() => {
        http.server.closeAllConnections();
        web.destroyAll();
      }, 1000);
      await http.close();
      clearTimeout(stragglers);
    });
    const address = http.server.address();
    const httpPort = typeof address === 'object' && address ? address.port : config.http.port;
    const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
    const urls = { http: `${config.http.tls ? 'https' : 'http'}://${host}:${httpPort}` };

    const imap = await startImap(
      {
        mailboxes: context.mailboxes,
        messages: context.messages,
        store: context.store,
        audio: context.audio,
        log: log.child({ proto: 'imap' }),
      },
      {
        host: config.imap.host,
        port: config.imap.port,
        tlsPort: config.imap.tlsPort,
        allowPlaintextAuth: config.imap.allowPlaintextAuth,
        tls,
        domain: config.server.domain,
        webUrl: urls.http,
        quotaBytes: config.imap.quotaMB * 1024 * 1024,
        version: packageVersion(),
        limits: config.limits,
      },
    ).catch((err: unknown) => {
      const key = (err as { listenKey?: string }).listenKey ?? 'port';
      const port = key === 'tlsPort' ? config.imap.tlsPort : config.imap.port;
      throw listenError(err, `imap.${key}`, config.imap.host, port);
    });
    parts.set('imap', () => imap.close());
    listeners.imap = () => imap.stats().imap;
    listeners.imaps = () => imap.stats().imaps;

    const smtp = await startSmtp(
      {
        mailboxes: context.mailboxes,
        messages: context.messages,
        log: log.child({ proto: 'smtp-in' }),
      },
      {
        host: config.smtp.host,
        port: config.smtp.port,
        tls,
        domain: config.server.domain,
        maxMessageBytes: Math.round(config.smtp.maxMessageMB * 1024 * 1024),
        allowedPeers: config.smtp.allowedPeers,
        requireAuth: config.smtp.requireAuth,
        limits: config.limits,
      },
    ).catch((err: unknown) => {
      throw listenError(err, 'smtp.port', config.smtp.host, config.smtp.port);
    });
    parts.set('smtp', () => smtp.close());
    listeners.smtp = () => smtp.stats();

    const smtpLimits = config.delivery.targets.smtp;
    const smtpTarget = new SmtpTarget(
      {
        servers: config.mail.servers,
        from: config.mail.from,
        domain: config.server.domain,
        webUrl: config.mail.webUrl || urls.http,
        name: config.server.domain,
        timeoutMs: smtpLimits.timeoutSeconds * 1000,
        concurrency: smtpLimits.concurrency,
      },
      context.store,
      context.audio,
    );
    const delivery = new DeliveryRunner({
      queue: context.deliveries,
      targets: [
        {
          target: smtpTarget,
          timeoutMs: smtpLimits.timeoutSeconds * 1000,
          concurrency: smtpLimits.concurrency,
        },
      ],
      holder: workerId(),
      log: log.child({ part: 'delivery' }),
    });
    context.deliveryQueued.notify = () => delivery.poke();
    parts.set('mail', async () => {
      await delivery.stop();
      smtpTarget.close();
    });
    // Mail queued while the server was down goes at once, not at the first poll.
    delivery.start();
    if (config.mail.servers.length === 0)
      log.info({}, 'no outgoing SMTP server (mail.servers): e-mail waits in the queue');

    const stopHousekeeping = startHousekeeping(
      context.messages,
      config.housekeeping.intervalMinutes,
      log,
    );
    parts.set('housekeeping', async () => stopHousekeeping());
    const ports = {
      http: httpPort,
      imap: imap.ports.plain,
      imaps: imap.ports.tls,
      smtp: smtp.port,
      sip: phone.port,
    };
    log.info(
      { url: urls.http, ports, dataDir: loaded.dataDir, role: config.server.role },
      'voicegate serving',
    );

    let closing: Promise<void> | undefined;
    return {
      context,
      http,
      urls,
      ports,
      phone,
      close: () => (closing ??= closeAll()),
      closing: () => [...pending],
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
