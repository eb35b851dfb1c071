import { describe, expect, it } from 'vitest';
import {
  PARTITION_SENDS,
  partitionSends,
  WITNESS_VIEWS,
  type PartitionSide,
  type WitnessView,
} from '../../server/domain/partition.ts';

describe('who sends lamps and e-mail during a partition', () => {
  // [side, witness view, lamps, e-mail]
  const cases: [PartitionSide, WitnessView, boolean, boolean][] = [
    ['central', 'none', true, true],
    ['central', 'central-up', true, true],
    ['central', 'unreachable', true, true],
    ['backup-standby', 'none', false, true],
    ['backup-standby', 'central-down', false, true],
    // No witness: both sides send (the documented risk).
    ['backup-live', 'none', true, true],
    // The witness reaches the central: the central sends, the backup holds.
    ['backup-live', 'central-up', false, false],
    ['backup-live', 'central-down', true, true],
    ['backup-live', 'unreachable', true, true],
  ];
  it.each(cases)('%s, witness %s: lamps %s, e-mail %s', (side, view, lamps, email) => {
    expect(partitionSends(side, view)).toEqual({ lamps, email });
  });

  it('never lets both sides send when a witness sees the central', () => {
    for (const view of WITNESS_VIEWS) {
      const central = PARTITION_SENDS.central[view];
      const backup = PARTITION_SENDS['backup-live'][view];
      if (view === 'central-up') expect(central.lamps && backup.lamps).toBe(false);
      // The central always sends: it cannot tell a partition from a backup that is down.
      expect(central).toEqual({ lamps: true, email: true });
    }
  });

  it('never has a backup in standby light lamps', () => {
    for (const view of WITNESS_VIEWS)
      expect(PARTITION_SENDS['backup-standby'][view].lamps).toBe(false);
  });
});
