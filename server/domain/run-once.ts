/**
 * Work an installation runs once, however many nodes serve it: sending the delivery queue,
 * housekeeping, telling the PBX of lamps unasked, registering to the PBX, scheduled backups,
 * reading Exchange mailboxes' changes back. Several gateway nodes
 * on one shared store would otherwise each do it.
 */
export const ONCE_WORK = [
  'delivery',
  'housekeeping',
  'pbx-lamps',
  'pbx-registration',
  'backup',
  'exchange-sync',
] as const;
export type OnceWork = (typeof ONCE_WORK)[number];

/**
 * "Am I the one that runs it?", asked each time the work is about to run, so the answer may
 * change while the process runs (a lease held in a shared store, a backup that became live).
 */
export interface RunOnce {
  runsHere(work: OnceWork): boolean;
}

/** One node serving the installation alone runs all of it. */
export const SINGLE_NODE: RunOnce = { runsHere: () => true };
