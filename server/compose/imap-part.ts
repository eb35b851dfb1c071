import { buildImap, type ImapPart } from '../../imap/imap-server.ts';
import { listenError, type Part, type Wiring } from './part.ts';

/** IMAP on its STARTTLS and its implicit-TLS port. */
export function buildImapPart(w: Wiring): Part & { imap: ImapPart } {
  const { config } = w.loaded;
  const imap = buildImap(
    {
      mailboxes: w.context.mailboxes,
      messages: w.context.messages,
      store: w.context.store,
      audio: w.context.audio,
      log: w.log.child({ proto: 'imap' }),
    },
    {
      host: config.imap.host,
      port: config.imap.port,
      tlsPort: config.imap.tlsPort,
      allowPlaintextAuth: config.imap.allowPlaintextAuth,
      tls: w.tls,
      domain: config.server.domain,
      webUrl: () => w.urls.http,
      quotaBytes: config.imap.quotaMB * 1024 * 1024,
      version: w.version,
      limits: config.limits,
    },
  );
  return {
    imap,
    listen: async () => {
      await imap.listen().catch((err: unknown) => {
        const key = (err as { listenKey?: string }).listenKey ?? 'port';
        const port = key === 'tlsPort' ? config.imap.tlsPort : config.imap.port;
        throw listenError(err, `imap.${key}`, config.imap.host, port);
      });
      w.listeners.imap = () => imap.stats().imap;
      w.listeners.imaps = () => imap.stats().imaps;
    },
    close: () => imap.close(),
    ports: () => ({ imap: imap.ports.plain, imaps: imap.ports.tls }),
  };
}
