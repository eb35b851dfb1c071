import { afterAll, beforeAll } from 'vitest';
import { openStore } from '../../server/store/open-store.ts';
import { startPgCluster, type PgCluster } from '../helpers/postgres.ts';
import { adminsContract } from './contract/admins.contract.ts';
import { auditContract } from './contract/audit.contract.ts';
import { audioContract } from './contract/audio.contract.ts';
import { concurrentDepositsContract } from './contract/concurrent-deposits.contract.ts';
import { deliveryQueueContract } from './contract/delivery-queue.contract.ts';
import { exchangeContract } from './contract/exchange.contract.ts';
import { emailReadingContract } from './contract/email-reading.contract.ts';
import { greetingsContract } from './contract/greetings.contract.ts';
import { healthContract } from './contract/health.contract.ts';
import { idempotentDepositContract } from './contract/idempotent-deposit.contract.ts';
import { journalContract } from './contract/journal.contract.ts';
import { mailboxesContract } from './contract/mailboxes.contract.ts';
import { messagesContract } from './contract/messages.contract.ts';
import { messageQueryContract } from './contract/message-query.contract.ts';
import type { OpenedStore } from './contract/opened-store.ts';
import { webSessionsContract } from './contract/web-sessions.contract.ts';
import { webPreferencesContract } from './contract/web-preferences.contract.ts';

/**
 * One PostgreSQL cluster for the file (Debian's postgresql, in a temporary folder), started
 * before any contract so that its start, slow on a busy machine, is not charged to one test.
 */
let cluster: PgCluster | undefined;
beforeAll(async () => {
  cluster = await startPgCluster();
}, 180_000);
afterAll(async () => {
  await cluster?.stop();
}, 120_000);

/** A fresh, empty database each time; the first handle's close leaves it to the cluster's end. */
async function openPostgres(): Promise<OpenedStore> {
  if (!cluster) throw new Error('the PostgreSQL cluster did not start');
  const url = await cluster.createDatabase();
  const config = { store: { backend: 'postgresql' as const, url }, dataDir: '/nonexistent' };
  const handle = async (): Promise<OpenedStore> => {
    const opened = await openStore(config);
    return { ...opened, reopen: handle };
  };
  return handle();
}

// Every contract, one line each.
mailboxesContract(openPostgres);
messagesContract(openPostgres);
greetingsContract(openPostgres);
journalContract(openPostgres);
webSessionsContract(openPostgres);
audioContract(openPostgres);
healthContract(openPostgres);
idempotentDepositContract(openPostgres);
deliveryQueueContract(openPostgres);
concurrentDepositsContract(openPostgres);
exchangeContract(openPostgres);
messageQueryContract(openPostgres);
emailReadingContract(openPostgres);
adminsContract(openPostgres);
auditContract(openPostgres);
webPreferencesContract(openPostgres);
