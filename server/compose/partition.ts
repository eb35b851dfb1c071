import type { LoadedConfig } from '../config/load.ts';
import { partitionSends, type PartitionSide, type Sends } from '../domain/partition.ts';
import type { Logger } from '../log.ts';
import { WitnessWatch } from '../peers/witness.ts';

/** What this server sends now during a partition, asked at each lamp and each e-mail. */
export interface Partition {
  sends(): Sends;
  side(): PartitionSide;
  /** On a backup with `topology.failover.witness`: its watch of the witness. */
  witness: WitnessWatch | null;
}

/**
 * The partition rule (`server/domain/partition.ts`) for this server: the central (and every
 * role but a backup) always sends; a backup by whether it is live (`live`, its watch of the
 * central) and, when it has one, the witness's last view.
 */
export function buildPartition(loaded: LoadedConfig, log: Logger, live: () => boolean): Partition {
  const { config } = loaded;
  const backup = config.server.role === 'backup';
  const url = config.topology.failover.witness;
  const witness =
    backup && url
      ? new WitnessWatch({
          url,
          intervalMs: config.topology.failover.intervalSeconds * 1000,
          log: log.child({ part: 'witness' }),
        })
      : null;
  const side = (): PartitionSide =>
    !backup ? 'central' : live() ? 'backup-live' : 'backup-standby';
  return {
    witness,
    side,
    sends: () => partitionSends(side(), witness?.view() ?? 'none'),
  };
}
