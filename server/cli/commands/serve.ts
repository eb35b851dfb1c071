import type { Command } from 'commander';
import { createLogger } from '../../log.ts';
import { openSyslog } from '../../compose/syslog.ts';
import { load } from '../common.ts';
import { stopCodeHashing } from '../../domain/code-hash.ts';

/**
 * How long a shutdown may take, signal to exit. Each part ends its own sessions and timers well
 * within it; this is the guarantee for whatever does not.
 */
export const SHUTDOWN_MS = 4500;

interface Closable {
  close(): Promise<void>;
  /** The parts not closed yet. */
  closing?(): string[];
}
interface ShutdownLog {
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
}

/**
 * Closes the server, and ends the process within `ms` whatever happens: past it, the parts not
 * closed yet (or, if all did, what still holds the event loop) are logged and `exit` is called.
 * Resolves when the server has closed.
 */
export function shutDown(
  server: Closable,
  log: ShutdownLog,
  exit: (code: number) => void = (code) => process.exit(code),
  ms = SHUTDOWN_MS,
): Promise<void> {
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
    log.warn({ parts: server.closing?.() ?? [], ms }, 'shutdown did not finish in time: exiting');
    exit(1);
  }, ms).unref();
  const done = (): void => {
    closed = true;
  };
  return server.close().then(done, done);
}

/** Serves until SIGTERM or SIGINT, then shuts down (within SHUTDOWN_MS). */
export async function serveUntilSignal(server: Closable, log: ShutdownLog): Promise<void> {
  await new Promise<void>((resolveStop) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'shutting down');
      void shutDown(server, log).then(resolveStop);
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
      const syslog = openSyslog(loaded);
      const log = createLogger(
        loaded.config.log.level,
        process.stderr,
        syslog ? [syslog.destination] : [],
      );
      const { startServer } = await import('../../server.ts');
      const server = await startServer(loaded, log, { syslog: syslog?.sink });
      await serveUntilSignal(server, log);
      // Code checks still in line would otherwise keep the process alive until they ran.
      await stopCodeHashing();
      await syslog?.sink.close();
    });
}
