import { randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { monotonicFactory } from 'ulid';
import type { DomainDeps } from './domain/deps.ts';
import { MailboxService } from './domain/mailbox-service.ts';
import { MessageService } from './domain/message-service.ts';
import { DeliveryService } from './domain/delivery-service.ts';
import { SettingsTransfer } from './domain/settings-transfer.ts';
import { ReplicaService } from './domain/replica-service.ts';
import { MailboxHomeService } from './domain/home-service.ts';
import { ExchangeStateService } from './domain/exchange-state.ts';
import { Observers } from './domain/observe.ts';
import { EmailReadingService } from './domain/email-reading-service.ts';
import type { SecretBox } from './domain/secret-box.ts';
import { loadServerKey } from './mailread/server-key.ts';
import { AdminService } from './domain/admin-service.ts';
import { MailboxSettingsService } from './domain/mailbox-settings-service.ts';
import { totpSecondFactor } from './totp.ts';
import type { LoadedConfig } from './config/load.ts';
import type { Logger } from './log.ts';
import { inspectWav } from './media/wav.ts';
import type { OpenedStore } from './domain/ports.ts';
import { openStore } from './store/open-store.ts';

/** The store and the domain services wired for one process (the server or one CLI command). */
export interface Context extends OpenedStore {
  loaded: LoadedConfig;
  log: Logger;
  mailboxes: MailboxService;
  messages: MessageService;
  deliveries: DeliveryService;
  /** Mailboxes, groups and greetings exported and imported (voicegate config export/import). */
  settings: SettingsTransfer;
  homes: MailboxHomeService;
  exchangeStates: ExchangeStateService;
  /** Reading owners' e-mail by phone: the settings, their secrets sealed. */
  emailReading: EmailReadingService;
  /** Administrator accounts (voicegate admin, the admin area). */
  admins: AdminService;
  /** The state a central keeps in step on its peers, read and applied (server/peers/). */
  replica: ReplicaService;
  /** Every setting of a mailbox as an administrator changes it (CLI and admin area), audited. */
  mailboxSettings: MailboxSettingsService;
  /** Set by the server: called when this process queued a delivery. */
  deliveryQueued: { notify: () => void };
  /** What the services report as it happens (log-ins, deposits, deliveries): metrics, alarms. */
  observers: Observers;
  close(): Promise<void>;
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export async function createContext(
  loaded: LoadedConfig,
  log: Logger,
  opts: {
    sweep?: boolean;
    /** On a backup: whether it is live now, keeping what it records (else the central does). */
    keepsMessages?: () => boolean;
  } = {},
): Promise<Context> {
  const { config } = loaded;
  const observers = new Observers();
  const opened = await openStore(
    { store: config.store, dataDir: loaded.dataDir },
    {
      sweep: opts.sweep,
      onFeedError: (err) => log.error({ err }, 'change feed listener failed'),
      onCheckpointError: (err) => log.error({ err }, 'WAL checkpoint failed'),
    },
  );
  const deps: DomainDeps = {
    store: opened.store,
    audio: opened.audio,
    inspectAudio: inspectWav,
    policy: config.policy,
    housekeeping: {
      deleteAfterHours: config.housekeeping.deleteAfterHours,
      purgeDeletedAfterHours: config.housekeeping.purgeDeletedAfterHours,
    },
    playbackOrder: config.housekeeping.playbackOrder,
    serverName: config.server.name,
    newVoicemailId: monotonicFactory(pooledRandom()),
    defaults: { locale: config.server.locale, timeZone: config.server.timeZone },
    log: log.child({ part: 'domain' }),
    onDeliveryQueued: () => deliveryQueued.notify(),
    exchangeConnections: config.exchange.connections.map((c) => ({ name: c.name, kind: c.kind })),
    ...((config.server.role === 'distributed' || config.server.role === 'backup') &&
    config.topology.central
      ? { central: config.topology.central.name, keepsMessages: opts.keepsMessages }
      : {}),
    ...(config.server.role === 'central' && config.topology.syncMessages && config.topology.backup
      ? { backup: config.topology.backup.name }
      : {}),
    observe: observers.emit,
    auditRetentionDays: config.audit.retentionDays,
  };
  const deliveryQueued = { notify: () => {} };
  const mailboxes = new MailboxService(deps);
  const messages = new MessageService(deps, mailboxes);
  const deliveries = new DeliveryService(deps, messages, config.mail.retryHours);
  // The key file is read (or made) only when a secret is first sealed or opened.
  let box: SecretBox | undefined;
  const serverKey = () =>
    (box ??= loadServerKey(resolve(loaded.dataDir, config.readEmail.keyFile)));
  const homes = new MailboxHomeService(deps, mailboxes);
  const emailReading = new EmailReadingService(deps, mailboxes, serverKey);
  return {
    ...opened,
    loaded,
    log,
    mailboxes,
    messages,
    deliveries,
    settings: new SettingsTransfer(deps),
    replica: new ReplicaService(deps),
    homes,
    exchangeStates: new ExchangeStateService(deps, messages),
    emailReading,
    mailboxSettings: new MailboxSettingsService({
      mailboxes,
      homes,
      emailReading,
      messages,
      sipRealm: config.sip.realm || config.server.domain,
    }),
    admins: new AdminService(deps, totpSecondFactor(`Voicegate ${config.server.name}`)),
    deliveryQueued,
    observers,
  };
}

/**
 * ulid's random source: the same cryptographic bytes, drawn 4 KiB at a time. ulid's own asks the
 * OS for one byte per character, 16 calls per identity, a measurable part of a deposit's
 * main-thread time under load. Each byte gives a value in [0, 1) by /256, as ulid's own does.
 */
export function pooledRandom(): () => number {
  const pool = new Uint8Array(4096);
  let at = pool.length;
  return () => {
    if (at === pool.length) {
      randomFillSync(pool);
      at = 0;
    }
    return pool[at++]! / 256;
  };
}
