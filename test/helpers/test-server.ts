import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/config/load.ts';
import { createLogger } from '../../server/log.ts';
import { startServer, type RunningServer } from '../../server/server.ts';
import { LogWatch } from './log-watch.ts';

export interface TestServer extends RunningServer {
  dir: string;
  configFile: string;
  /** Stops the server and removes its data folder. */
  stop(): Promise<void>;
}

/** A test server whose log (every level down to debug) the test reads. */
export interface WatchedServer extends TestServer {
  logs: LogWatch;
}

export interface TestServerOptions {
  /** Keep the log, debug included, in `logs` (otherwise the server logs nothing). */
  watchLogs?: boolean;
}

/**
 * A real server in this process on free loopback ports (every port 0), on a fresh data folder
 * with a self-signed certificate. `sets` are `--set` style overrides.
 */
export async function startTestServer(sets?: string[]): Promise<TestServer>;
export async function startTestServer(
  sets: string[],
  opts: TestServerOptions & { watchLogs: true },
): Promise<WatchedServer>;
export async function startTestServer(sets: string[], opts: TestServerOptions): Promise<TestServer>;
export async function startTestServer(
  sets: string[] = [],
  opts: TestServerOptions = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'voicegate-server-'));
  const configFile = join(dir, 'voicegate.yaml');
  writeFileSync(configFile, 'server:\n  dataDir: .\n');
  const loaded = loadConfig(configFile, [
    'http.port=0',
    'imap.port=0',
    'imap.tlsPort=0',
    'sip.port=0',
    'sip.rtpPortMin=0',
    'sip.rtpPortMax=0',
    'smtp.port=0',
    'log.level=silent',
    ...sets,
  ]);
  const logs = opts.watchLogs ? new LogWatch() : undefined;
  const log = logs ? createLogger('debug', logs.stream) : createLogger(loaded.config.log.level);
  const server = await startServer(loaded, log);
  return Object.assign(server, {
    dir,
    configFile,
    ...(logs ? { logs } : {}),
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}
