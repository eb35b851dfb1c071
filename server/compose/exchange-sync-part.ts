import { readFileSync } from 'node:fs';
import type { EwsClient } from '../exchange/ews-client.ts';
import type { GraphClient } from '../exchange/graph-client.ts';
import type { Part, Wiring } from './part.ts';

/** The Exchange modules, loaded when a connection is configured (msal is large to keep). */
const loadExchange = async () => {
  const [graphClient, graphSync, ewsClient, ewsSync, https] = await Promise.all([
    import('../exchange/graph-client.ts'),
    import('../exchange/graph-sync.ts'),
    import('../exchange/ews-client.ts'),
    import('../exchange/ews-sync.ts'),
    import('../exchange/https-client.ts'),
  ]);
  return { ...graphClient, ...graphSync, ...ewsClient, ...ewsSync, ...https };
};

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
  let exchange: Awaited<ReturnType<typeof loadExchange>> | null = null;

  const client = (name: string): GraphClient | EwsClient | null => {
    if (!exchange) return null;
    const c = config.exchange.connections.find((x) => x.name === name);
    if (!c) return null;
    let made = clients.get(name);
    if (!made) {
      const send = exchange.createHttpClient(c.caFile ? readFileSync(c.caFile) : undefined);
      made =
        c.kind === 'graph' ? new exchange.GraphClient(c, send) : new exchange.EwsClient(c, send);
      clients.set(name, made);
    }
    return made;
  };

  const round = async (): Promise<void> => {
    if (!w.once.runsHere('exchange-sync') || !exchange) return;
    for (const { mailboxId, home } of await context.store.listExchangeHomes()) {
      if (controller.signal.aborted) return;
      const c = client(home.exchangeConnection!);
      if (!c) continue;
      const address = home.exchangeAddress!;
      const { store } = context;
      try {
        // Started before the first read: a change made here after this is not taken back.
        const exchangeStates = await context.exchangeStates.startRound(mailboxId);
        if (c instanceof exchange.GraphClient)
          await exchange.syncGraphMailbox(
            c,
            address,
            mailboxId,
            store,
            exchangeStates,
            controller.signal,
          );
        else
          await exchange.syncEwsMailbox(
            c,
            address,
            mailboxId,
            store,
            exchangeStates,
            controller.signal,
          );
      } catch (err) {
        log.warn({ mailboxId, err: (err as Error).message }, 'reading Exchange back failed');
      }
    }
  };

  return {
    listen: async () => {
      // Mailboxes that had the old e-mail mode `exchange` come without a connection.
      await context.homes.completeConnections();
      if (config.exchange.connections.length === 0) return;
      exchange = await loadExchange();
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
