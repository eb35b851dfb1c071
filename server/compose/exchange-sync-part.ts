import { readFileSync } from 'node:fs';
import { EwsClient } from '../exchange/ews-client.ts';
import { syncEwsMailbox } from '../exchange/ews-sync.ts';
import { GraphClient } from '../exchange/graph-client.ts';
import { syncGraphMailbox } from '../exchange/graph-sync.ts';
import { createHttpClient } from '../exchange/https-client.ts';
import type { Part, Wiring } from './part.ts';

/**
 * Reads back what users do to their voicemail in Exchange (every `exchange.syncSeconds`), on
 * the node that runs it: each mailbox at home in Exchange Online is read by its Inbox's delta
 * query, each one on Exchange Server by SyncFolderItems, and its shadows follow through the
 * domain.
 */
export function buildExchangeSyncPart(w: Wiring): Part {
  const { config } = w.loaded;
  const { context } = w;
  const log = w.log.child({ part: 'exchange-sync' });
  const clients = new Map<string, GraphClient | EwsClient>();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  const controller = new AbortController();

  const client = (name: string): GraphClient | EwsClient | null => {
    const c = config.exchange.connections.find((x) => x.name === name);
    if (!c) return null;
    let made = clients.get(name);
    if (!made) {
      const send = createHttpClient(c.caFile ? readFileSync(c.caFile) : undefined);
      made = c.kind === 'graph' ? new GraphClient(c, send) : new EwsClient(c, send);
      clients.set(name, made);
    }
    return made;
  };

  const round = async (): Promise<void> => {
    if (!w.once.runsHere('exchange-sync')) return;
    for (const { mailboxId, home } of await context.store.listExchangeHomes()) {
      if (controller.signal.aborted) return;
      const c = client(home.exchangeConnection!);
      if (!c) continue;
      const address = home.exchangeAddress!;
      const { store, exchangeStates } = context;
      try {
        if (c instanceof GraphClient)
          await syncGraphMailbox(c, address, mailboxId, store, exchangeStates, controller.signal);
        else await syncEwsMailbox(c, address, mailboxId, store, exchangeStates, controller.signal);
      } catch (err) {
        log.warn({ mailboxId, err: (err as Error).message }, 'reading Exchange back failed');
      }
    }
  };

  return {
    listen: async () => {
      if (config.exchange.connections.length === 0) return;
      timer = setInterval(() => {
        running ??= round().finally(() => (running = null));
      }, config.exchange.syncSeconds * 1000);
    },
    close: async () => {
      if (timer) clearInterval(timer);
      controller.abort();
      await running?.catch(() => {});
    },
  };
}
