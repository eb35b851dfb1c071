import type { Command } from 'commander';
import { createLogger } from '../../log.ts';
import { load } from '../common.ts';

/**
 * How long a shutdown may take, signal to exit. Each part ends its own sessions and timers well
 * within it; this is the guarantee for whatever does not.
 */
export const SHUTDOWN_MS = 4500;

/**
 * Serves until SIGTERM or SIGINT, then closes listeners and the store cleanly. The process ends
 * within SHUTDOWN_MS whatever clients do: past it, the parts not closed yet (or, if all did,
 * what still holds the event loop) are logged and the process exits.
 */
export async function serveUntilSignal(
  server: { close(): Promise<void>; closing?(): string[] },
  log: { info(o: object, m: string): void; warn(o: object, m: string): void },
  exit: (code: number) => void = (code) => process.exit(code),
): Promise<void> {
  await new Promise<void>((resolveStop) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'shutting down');
      let closed = false;
      // Unref'd: a shutdown that ends in time leaves nothing for it to do.
      setTimeout(() => {
        if (closed) {
          log.warn(
            { resources: process.getActiveResourcesInfo() },
            'closed, but something still holds the process: exiting',
          );
          return exit(0);
        }
        log.warn(
          { parts: server.closing?.() ?? [], ms: SHUTDOWN_MS },
          'shutdown did not finish in time: exiting',
        );
        exit(1);
      }, SHUTDOWN_MS).unref();
      const done = (): void => {
        closed = true;
        resolveStop();
      };
      server.close().then(done, done);
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
