import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.ts';
import { peersOf } from '../config/topology.ts';
import { VoicegateError } from '../domain/errors.ts';
import { hostPort, PeerSet } from '../peers/peer-set.ts';

function readKeyFile(loaded: LoadedConfig, key: string, file: string): string {
  const path = isAbsolute(file) ? file : resolve(loaded.dataDir, file);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new VoicegateError(
      'INVALID_INPUT',
      `config key "${key}": cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

/**
 * This server's peers from `topology`, each secret read (from `secretFile`, relative to the
 * data folder) and checked, each CA file read; null on a standalone server.
 */
export function peerSetOf(loaded: LoadedConfig): PeerSet | null {
  const { config } = loaded;
  if (config.server.role === 'standalone') return null;
  const peers = peersOf(config.topology).map((p) => {
    const secret = p.secret || readKeyFile(loaded, `${p.key}.secretFile`, p.secretFile).trim();
    if (secret.length < 16)
      throw new VoicegateError(
        'INVALID_INPUT',
        `config key "${p.key}.secretFile": the secret in it is too short (at least 16 characters)`,
      );
    return {
      name: p.name,
      role: p.role,
      ...hostPort(p.smtp),
      domain: p.domain,
      https: p.https.replace(/\/+$/, ''),
      secret,
      plainText: p.plainText,
      ca: p.caFile ? readKeyFile(loaded, `${p.key}.caFile`, p.caFile) : '',
    };
  });
  return new PeerSet({ name: config.server.name, domain: config.server.domain }, peers);
}
