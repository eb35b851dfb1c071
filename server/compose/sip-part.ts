import { isAbsolute, join } from 'node:path';
import { Phone } from '../telephony/phone.ts';
import type { ExchangeInboxes } from '../domain/email-reading.ts';
import { MailReader } from '../mailread/email-reader.ts';
import { listenError, type Part, type Wiring } from './part.ts';

/** The phone: SIP and RTP, call flows, lamps, the PBX registration. */
export async function buildSipPart(w: Wiring): Promise<Part & { phone: Phone }> {
  const { config, dataDir } = w.loaded;
  const phone = await Phone.build(
    {
      mailboxes: w.context.mailboxes,
      messages: w.context.messages,
      feed: w.context.store.feed,
      policy: config.policy,
      log: w.log.child({ proto: 'sip' }),
      runsHere: (work) => w.once.runsHere(work),
      observe: w.context.observers.emit,
      emailReader: new MailReader({
        source: (id) => w.context.emailReading.source(id),
        isOn: (id) => w.context.emailReading.isOn(id),
        exchange: exchangeInboxes(w),
        maxPerCall: config.readEmail.maxPerCall,
        timeoutMs: config.readEmail.timeoutSeconds * 1000,
        log: w.log.child({ part: 'mailread' }),
      }),
    },
    {
      ...config.sip,
      limits: config.limits,
      flowsFile: isAbsolute(config.sip.flowsFile)
        ? config.sip.flowsFile
        : join(dataDir, config.sip.flowsFile),
      domain: config.server.domain,
      language: config.server.locale,
      timeZone: config.server.timeZone,
      version: w.version,
    },
  );
  w.phone = phone;
  return {
    phone,
    listen: async () => {
      await phone.listen().catch((err: unknown) => {
        throw listenError(err, 'sip.port', config.sip.host, config.sip.port);
      });
      if (config.sip.tcp)
        w.listeners.sip = () => {
          // SIP over TCP keeps its own limits (server/sip); counted here beside the others.
          const { tcpAccepted, tcpRefused } = phone.ua.transport.stats();
          const { perAddress, total } = config.limits;
          return { active: tcpAccepted, refused: tcpRefused, perAddress, total };
        };
    },
    close: () => phone.close(),
  };
}

/** Exchange inboxes read by phone, the Exchange modules loaded at the first (msal is large). */
function exchangeInboxes(w: Wiring): ExchangeInboxes | undefined {
  const { connections } = w.loaded.config.exchange;
  if (connections.length === 0) return undefined;
  let reader: Promise<ExchangeInboxes> | null = null;
  return {
    open: async (target, opts) => {
      reader ??= import('../exchange/inbox-reader.ts').then(
        (m) => new m.ExchangeInboxReader(connections),
      );
      return (await reader).open(target, opts);
    },
  };
}
