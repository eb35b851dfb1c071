import type { ServerRole } from '../config/schema.ts';
import { VoicegateError } from '../domain/errors.ts';
import { ONCE_WORK, type OnceWork, type RunOnce } from '../domain/run-once.ts';
import { PART_NAMES, type PartName } from './part.ts';

/**
 * The parts each role runs (`server.role`). A role whose parts are not built yet is null: the
 * server refuses to start in it rather than pretend. A distributed server answers its sites'
 * calls and forwards every message to the central, so it holds no messages to read over IMAP
 * and no Exchange mailboxes to read back. A backup cannot yet watch the central and
 * take over, and a backup that ran as a standalone server would send lamps and e-mail for mailboxes
 * the central serves. So a backup runs in standby: it receives the central's replication (SMTP
 * in), answers health (HTTP) and keeps house, and does no once-only work.
 */
export const ROLE_PARTS: Record<ServerRole, readonly PartName[] | null> = {
  standalone: PART_NAMES,
  central: PART_NAMES,
  backup: ['http', 'smtp-in', 'housekeeping'],
  distributed: ['sip', 'http', 'smtp-in', 'delivery', 'housekeeping', 'backup', 'monitor'],
};

/**
 * The once-only work each role does. The central does the lamps and reads Exchange back for
 * every mailbox; a distributed server holds no messages, so it tells the PBX of no lamps (the
 * central does, for the mailboxes it holds); a backup in standby does none of it.
 */
export const ROLE_ONCE_WORK: Record<ServerRole, readonly OnceWork[]> = {
  standalone: ONCE_WORK,
  central: ONCE_WORK,
  backup: [],
  distributed: ['delivery', 'housekeeping', 'pbx-registration', 'backup'],
};

export function partsOf(role: ServerRole): readonly PartName[] {
  const parts = ROLE_PARTS[role];
  if (!parts)
    throw new VoicegateError(
      'INVALID_INPUT',
      `server.role "${role}" is not available in this version: set server.role to standalone, central or distributed`,
    );
  return parts;
}

/** The once-only seam narrowed to what the role does: `base` still decides among nodes. */
export function roleOnce(role: ServerRole, base: RunOnce): RunOnce {
  const work = new Set<OnceWork>(ROLE_ONCE_WORK[role]);
  return { runsHere: (w) => work.has(w) && base.runsHere(w) };
}
