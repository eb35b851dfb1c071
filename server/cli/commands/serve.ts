import type { Command } from 'commander';
import { createLogger } from '../../log.ts';
import { load } from '../common.ts';

/** Serves until SIGTERM or SIGINT, then closes listeners and the store cleanly. */
export async function serveUntilSignal(
  server: { close(): Promise<void> },
  log: { info(o: object, m: string): void },
): Promise<void> {
  await new Promise<void>((resolveStop) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'shutting down');
      server.close().then(resolveStop, resolveStop);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the server (use --set key=value to override any config key)')
    .action(async (_opts: unknown, cmd: Command) => {
      const loaded = load(cmd);
      const log = createLogger(loaded.config.log.level);
      const { startServer } = await import('../../server.ts');
      const server = await startServer(loaded, log);
      await serveUntilSignal(server, log);
    });
}
