import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.ts';
import { peersOf } from '../config/topology.ts';
import { VoicegateError } from '../domain/errors.ts';
import { mailboxChoice } from '../domain/mailbox-choice.ts';
import { hostPort, PeerSet } from '../peers/peer-set.ts';
import type { ReplicaPosition } from '../domain/replica.ts';
import type { ReplicaService } from '../domain/replica-service.ts';
import { flowsFileAt, replicaRecord } from '../peers/replica-files.ts';
import type { ReplicaReceiverDeps } from '../peers/replica-receiver.ts';
import type { ReplicaPeer, SentRecord } from '../peers/replicator.ts';

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
      ...(p.flowsFile ? { flowsFile: resolve(loaded.dataDir, p.flowsFile) } : {}),
    };
  });
  return new PeerSet({ name: config.server.name, domain: config.server.domain }, peers);
}

/** Where this server's call flows file is (`sip.flowsFile`, relative to the data folder). */
export function flowsPathOf(loaded: LoadedConfig): string {
  return resolve(loaded.dataDir, loaded.config.sip.flowsFile);
}

/**
 * On the central, the peers it keeps in step and what each takes: the backup everything
 * replicated (settings, mailboxes, hunt groups, greetings and the central's call flows), a
 * distributed server the mailboxes its entry chooses (`mailboxes`; none: all), with their hunt
 * groups and greetings, and the call flows its entry names. Elsewhere, none.
 */
export function replicaPeersOf(loaded: LoadedConfig, peers: PeerSet): ReplicaPeer[] {
  if (loaded.config.server.role !== 'central') return [];
  const entries = peersOf(loaded.config.topology);
  return peers.all().map((peer) => {
    const flows =
      peer.role === 'backup'
        ? flowsFileAt(flowsPathOf(loaded))
        : peer.flowsFile
          ? flowsFileAt(peer.flowsFile)
          : null;
    const chosen = entries.find((p) => p.name === peer.name)?.mailboxes ?? [];
    return {
      peer,
      kinds: ['mailbox', 'members', 'greeting', ...(flows ? (['flows'] as const) : [])],
      flows,
      record: replicaRecord<SentRecord>(loaded.dataDir, 'to', peer.name),
      ...(peer.role === 'distributed' && chosen.length ? { only: mailboxChoice(chosen) } : {}),
    };
  });
}

/** On a backup or distributed server, what applies the central's changes. */
export function replicaReceiverOf(
  loaded: LoadedConfig,
  replica: ReplicaService,
): ReplicaReceiverDeps | undefined {
  const role = loaded.config.server.role;
  if (role !== 'backup' && role !== 'distributed') return undefined;
  return {
    service: replica,
    flows: flowsFileAt(flowsPathOf(loaded)),
    position: (peer) => replicaRecord<ReplicaPosition>(loaded.dataDir, 'from', peer),
  };
}
