import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../server/config/load.ts';
import { createLogger } from '../../server/log.ts';
import { startServer, type RunningServer } from '../../server/server.ts';

/** The secret the test network's servers share (each pair may have its own). */
export const SECRET = 'a3f1c9e27b5d40e8a3f1c9e27b5d40e8';

/** A peer entry as a `--set` value (JSON is YAML flow syntax). */
export function peer(entry: Record<string, unknown>): string {
  return JSON.stringify({ secret: SECRET, ...entry });
}

/**
 * A Voicegate server of a network, in this process on loopback, with its own data folder
 * (kept between starts, so a restart finds its store): every port free (0) unless `sets` names
 * one. The central's certificate is `<dir>/tls/cert.pem`.
 */
export async function startNode(dir: string, sets: string[]): Promise<RunningServer> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'voicegate.yaml');
  writeFileSync(file, 'server:\n  dataDir: .\n');
  const loaded = loadConfig(file, nodeSets(sets));
  return startServer(loaded, createLogger(loaded.config.log.level));
}

/** The overrides a node of the test network runs with (the CLI is given them too). */
export function nodeSets(sets: string[]): string[] {
  return [
    'http.port=0',
    'http.tls=false',
    'imap.port=0',
    'imap.tlsPort=0',
    'sip.port=0',
    'sip.rtpPortMin=0',
    'sip.rtpPortMax=0',
    'smtp.port=0',
    'log.level=silent',
    ...sets,
  ];
}
