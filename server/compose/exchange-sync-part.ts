import { readFileSync } from 'node:fs';
import type { GraphClient } from '../exchange/graph-client.ts';
import type { Part, Wiring } from './part.ts';

/** The Exchange modules, loaded when a connection is configured (msal is large to keep). */
const loadExchange = async () => {
  const [client, sync, https] = await Promise.all([
    import('../exchange/graph-client.ts'),
    import('../exchange/graph-sync.ts'),
    import('../exchange/https-client.ts'),
  ]);
  return { ...client, ...sync, ...https };
};

/**
 * Reads back what users do to their voicemail in Exchange (every `exchange.syncSeconds`), on
 * the node that runs it: each mailbox at home in Exchange Online is read by its Inbox's delta
 * query and its shadows follow through the domain. (EWS mailboxes are not read back yet.)
 */
export function buildExchangeSyncPart(w: Wiring): Part {
  const { config } = w.loaded;
  const { context } = w;
  const log = w.log.child({ part: 'exchange-sync' });
  const clients = new Map<string, GraphClient>();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  const controller = new AbortController();
  let exchange: Awaited<ReturnType<typeof loadExchange>> | null = null;

  const client = (name: string): GraphClient | null => {
    if (!exchange) return null;
    const { GraphClient, createHttpClient } = exchange;
    const c = config.exchange.connections.find((x) => x.name === name);
    if (!c || c.kind !== 'graph') return null;
    let made = clients.get(name);
    if (!made) {
      made = new GraphClient(c, createHttpClient(c.caFile ? readFileSync(c.caFile) : undefined));
      clients.set(name, made);
    }
    return made;
  };

  const round = async (): Promise<void> => {
    if (!w.once.runsHere('exchange-sync')) return;
    for (const { mailboxId, home } of await context.store.listExchangeHomes()) {
      if (controller.signal.aborted) return;
      const graph = client(home.exchangeConnection!);
      if (!graph) continue;
      try {
        await exchange!.syncGraphMailbox(
          graph,
          home.exchangeAddress!,
          mailboxId,
          context.store,
          context.exchangeStates,
          controller.signal,
        );
      } catch (err) {
        log.warn({ mailboxId, err: (err as Error).message }, 'reading Exchange back failed');
      }
    }
  };

  return {
    listen: async () => {
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
