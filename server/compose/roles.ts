import type { ServerRole } from '../config/schema.ts';
import { VoicegateError } from '../domain/errors.ts';
import { PART_NAMES, type PartName } from './part.ts';

/**
 * The parts each role runs (`server.role`). A role whose parts are not built yet is null: the
 * server refuses to start in it rather than pretend, since a backup or distributed server that
 * ran as a standalone one would send lamps and e-mail for mailboxes it does not hold.
 */
export const ROLE_PARTS: Record<ServerRole, readonly PartName[] | null> = {
  standalone: PART_NAMES,
  central: null,
  backup: null,
  distributed: null,
};

export function partsOf(role: ServerRole): readonly PartName[] {
  const parts = ROLE_PARTS[role];
  if (!parts)
    throw new VoicegateError(
      'INVALID_INPUT',
      `server.role "${role}" is not available in this version: set server.role to standalone`,
    );
  return parts;
}
