import { readFileSync } from 'node:fs';
import type { DomainDeps } from './domain/deps.ts';
import { MailboxService } from './domain/mailbox-service.ts';
import { MessageService } from './domain/message-service.ts';
import { DeliveryService } from './domain/delivery-service.ts';
import type { LoadedConfig } from './config/load.ts';
import type { Logger } from './log.ts';
import { inspectWav } from './media/wav.ts';
import { openEmbeddedStore, type EmbeddedStore } from './store/open-store.ts';

/** The store and the domain services wired for one process (the server or one CLI command). */
export interface Context extends EmbeddedStore {
  loaded: LoadedConfig;
  log: Logger;
  mailboxes: MailboxService;
  messages: MessageService;
  deliveries: DeliveryService;
  /** Set by the server: called when this process queued a delivery. */
  deliveryQueued: { notify: () => void };
  close(): Promise<void>;
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function createContext(
  loaded: LoadedConfig,
  log: Logger,
  opts: { sweep?: boolean } = {},
): Context {
  const { config } = loaded;
  const embedded = openEmbeddedStore(loaded.dataDir, {
    sweep: opts.sweep,
    onFeedError: (err) => log.error({ err }, 'change feed listener failed'),
  });
  const deps: DomainDeps = {
    store: embedded.store,
    audio: embedded.audio,
    inspectAudio: inspectWav,
    policy: config.policy,
    housekeeping: {
      deleteAfterHours: config.housekeeping.deleteAfterHours,
      purgeDeletedAfterHours: config.housekeeping.purgeDeletedAfterHours,
    },
    playbackOrder: config.housekeeping.playbackOrder,
    serverName: config.server.name,
    defaults: { locale: config.server.locale, timeZone: config.server.timeZone },
    log: log.child({ part: 'domain' }),
    onDeliveryQueued: () => deliveryQueued.notify(),
  };
  const deliveryQueued = { notify: () => {} };
  const mailboxes = new MailboxService(deps);
  const messages = new MessageService(deps, mailboxes);
  const deliveries = new DeliveryService(deps, messages, config.mail.retryHours);
  return {
    ...embedded,
    loaded,
    log,
    mailboxes,
    messages,
    deliveries,
    deliveryQueued,
    close: () => embedded.store.close(),
  };
}
