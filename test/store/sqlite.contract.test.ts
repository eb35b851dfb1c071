import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../server/store/open-store.ts';
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

/** A fresh embedded store in a temporary folder; closing the first handle removes the folder. */
async function openSqlite(): Promise<OpenedStore> {
  const dataDir = mkdtempSync(join(tmpdir(), 'voicegate-contract-'));
  const handle = async (first: boolean): Promise<OpenedStore> => {
    const opened = await openStore({ store: { backend: 'sqlite' }, dataDir });
    return {
      ...opened,
      reopen: () => handle(false),
      async close() {
        await opened.close();
        if (first) rmSync(dataDir, { recursive: true, force: true });
      },
    };
  };
  return handle(true);
}

// Every contract, one line each.
mailboxesContract(openSqlite);
messagesContract(openSqlite);
greetingsContract(openSqlite);
journalContract(openSqlite);
webSessionsContract(openSqlite);
audioContract(openSqlite);
healthContract(openSqlite);
idempotentDepositContract(openSqlite);
deliveryQueueContract(openSqlite);
concurrentDepositsContract(openSqlite);
exchangeContract(openSqlite);
messageQueryContract(openSqlite);
emailReadingContract(openSqlite);
adminsContract(openSqlite);
auditContract(openSqlite);
webPreferencesContract(openSqlite);
