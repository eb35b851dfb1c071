import type { TargetRegistration } from '../delivery/delivery-runner.ts';
import type { Config } from '../config/schema.ts';
import type { Context } from '../context.ts';
import { lazyTarget } from './lazy-target.ts';

/**
 * The `graph` and `ews` targets with their limits (`delivery.targets`), for the server's runner
 * and for the CLI's while it moves a mailbox's voicemail into Exchange. Loaded at their first
 * delivery (`lazy-target.ts`).
 */
export function exchangeTargets(
  config: Config,
  context: Pick<Context, 'store' | 'audio'>,
  webUrl: () => string | undefined,
): TargetRegistration[] {
  const options = (kind: 'graph' | 'ews') => ({
    domain: config.server.domain,
    webUrl: config.mail.webUrl || webUrl(),
    connections: config.exchange.connections.filter((c) => c.kind === kind),
  });
  return [
    {
      target: lazyTarget('graph', async () => {
        const { GraphTarget } = await import('../exchange/graph-target.ts');
        const o = options('graph');
        return new GraphTarget(
          { ...o, connections: o.connections.filter((c) => c.kind === 'graph') },
          context.store,
          context.audio,
        );
      }),
      timeoutMs: config.delivery.targets.graph.timeoutSeconds * 1000,
      concurrency: config.delivery.targets.graph.concurrency,
    },
    {
      target: lazyTarget('ews', async () => {
        const { EwsTarget } = await import('../exchange/ews-target.ts');
        const o = options('ews');
        return new EwsTarget(
          { ...o, connections: o.connections.filter((c) => c.kind === 'ews') },
          context.store,
          context.audio,
        );
      }),
      timeoutMs: config.delivery.targets.ews.timeoutSeconds * 1000,
      concurrency: config.delivery.targets.ews.concurrency,
    },
  ];
}
