import type { Command } from 'commander';
import { connectionNamed } from '../../domain/exchange.ts';
import { VoicegateError } from '../../domain/errors.ts';
import { load, print } from '../common.ts';

export function registerExchange(program: Command): void {
  const exchange = program.command('exchange').description('Exchange connections');
  exchange
    .command('test <address>')
    .description(
      "check a connection for one user's mailbox: read its Inbox, create a test voicemail and remove it",
    )
    .option('--connection <name>', 'the exchange.connections entry (needed when there are several)')
    .option('--read-only', 'only read the Inbox; create nothing')
    .action(
      async (address: string, o: { connection?: string; readOnly?: boolean }, cmd: Command) => {
        const { config } = load(cmd);
        const all = config.exchange.connections;
        const name =
          o.connection ??
          (all.length === 1
            ? all[0]!.name
            : (() => {
                throw new VoicegateError(
                  'INVALID_INPUT',
                  all.length === 0
                    ? 'no Exchange connection is configured (exchange.connections)'
                    : `several Exchange connections: name one with --connection (${all.map((c) => c.name).join(', ')})`,
                );
              })());
        connectionNamed(all, name);
        const c = all.find((x) => x.name === name)!;
        let failed = false;
        // Loaded here, not with the CLI: `serve` would otherwise carry msal in memory.
        const { testConnection } = await import('../../exchange/connection-test.ts');
        for await (const step of testConnection(c, address, {
          readOnly: Boolean(o.readOnly),
          domain: config.server.domain,
        })) {
          print(`${step.ok ? 'ok     ' : 'REFUSED'} ${step.step}: ${step.detail}`);
          failed ||= !step.ok;
        }
        if (failed) process.exitCode = 1;
      },
    );
}
