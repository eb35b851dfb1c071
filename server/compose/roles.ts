import type { ServerRole } from '../config/schema.ts';
import { VoicegateError } from '../domain/errors.ts';
import { ONCE_WORK, type OnceWork, type RunOnce } from '../domain/run-once.ts';
import { PART_NAMES, type PartName } from './part.ts';

/** Every part but the watch of a central, which only a backup runs. */
const SERVING = PART_NAMES.filter((p) => p !== 'failover');

/**
 * The parts each role runs (`server.role`). A role whose parts are not built yet is null: the
 * server refuses to start in it rather than pretend. A distributed server answers its sites'
 * calls and forwards every message to the central, so it holds no messages to read over IMAP
 * and no Exchange mailboxes to read back. A backup runs every part and watches the central
 * (`failover`); whether it does the central's once-only work asks the watch (`roleOnce`).
 */
export const ROLE_PARTS: Record<ServerRole, readonly PartName[] | null> = {
  standalone: SERVING,
  central: SERVING,
  backup: PART_NAMES,
  distributed: ['sip', 'http', 'smtp-in', 'delivery', 'housekeeping', 'backup', 'monitor'],
};

/**
 * The once-only work each role does. The central does the lamps and reads Exchange back for
 * every mailbox; a distributed server holds no messages, so it tells the PBX of no lamps (the
 * central does, for the mailboxes it holds). A backup in standby sends only its queue, which
 * then holds nothing but what it recorded, forwarded to the central: no lamps, no e-mail, no
 * registration at the PBX (the central holds it); live, it does all the central's work.
 */
export const ROLE_ONCE_WORK: Record<ServerRole, readonly OnceWork[]> = {
  standalone: ONCE_WORK,
  central: ONCE_WORK,
  backup: ['delivery'],
  distributed: ['delivery', 'housekeeping', 'pbx-registration', 'backup'],
};

/** What a backup does while live (`server/domain/failover.ts`): the central's work. */
export const LIVE_BACKUP_ONCE_WORK: readonly OnceWork[] = ONCE_WORK;

export function partsOf(role: ServerRole): readonly PartName[] {
  const parts = ROLE_PARTS[role];
  if (!parts)
    throw new VoicegateError(
      'INVALID_INPUT',
      `server.role "${role}" is not available in this version: set server.role to standalone, central, backup or distributed`,
    );
  return parts;
}

/**
 * The once-only seam narrowed to what the role does: `base` still decides among nodes. On a
 * backup, `live` (its watch of the central) is asked each time, so every part asks one seam;
 * the lamps ask the partition rule too (`lamps`, `server/domain/partition.ts`), each time.
 */
export function roleOnce(
  role: ServerRole,
  base: RunOnce,
  live: () => boolean = () => false,
  lamps: () => boolean = () => true,
): RunOnce {
  const work = new Set<OnceWork>(ROLE_ONCE_WORK[role]);
  const liveWork = new Set<OnceWork>(role === 'backup' ? LIVE_BACKUP_ONCE_WORK : work);
  return {
    runsHere: (w) =>
      (live() ? liveWork : work).has(w) && (w !== 'pbx-lamps' || lamps()) && base.runsHere(w),
  };
}
