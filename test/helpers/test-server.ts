import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/config/load.ts';
import { createLogger } from '../../server/log.ts';
import { startServer, type RunningServer } from '../../server/server.ts';

export interface TestServer extends RunningServer {
  dir: string;
  configFile: string;
  /** Stops the server and removes its data folder. */
  stop(): Promise<void>;
}

/**
 * A real server in this process on free loopback ports (every port 0), on a fresh data folder
 * with a self-signed certificate. `sets` are `--set` style overrides.
 */
export async function startTestServer(sets: string[] = []): Promise<TestServer> {
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
  const server = await startServer(loaded, createLogger(loaded.config.log.level));
  return Object.assign(server, {
    dir,
    configFile,
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}
