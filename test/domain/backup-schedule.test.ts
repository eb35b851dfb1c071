import { describe, expect, it } from 'vitest';
import { backupName, backupsToPrune, nextBackupAt } from '../../server/domain/backup-schedule.ts';

const utc = (s: string): number => Date.parse(s);
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

describe('when scheduled backups run', () => {
  it('daily at a time in the server zone: later today, else tomorrow', () => {
    const s = { schedule: 'daily', at: '03:00', weekday: 'sunday' } as const;
    // 03:00 in Paris (winter, UTC+1) is 02:00 UTC.
    expect(iso(nextBackupAt(s, 'Europe/Paris', utc('2026-01-10T01:00:00Z')))).toBe(
      '2026-01-10T02:00:00.000Z',
    );
    expect(iso(nextBackupAt(s, 'Europe/Paris', utc('2026-01-10T02:00:00Z')))).toBe(
      '2026-01-11T02:00:00.000Z',
    );
    // Summer time (UTC+2), and a day that crosses the change.
    expect(iso(nextBackupAt(s, 'Europe/Paris', utc('2026-07-01T12:00:00Z')))).toBe(
      '2026-07-02T01:00:00.000Z',
    );
    expect(iso(nextBackupAt(s, 'Europe/Paris', utc('2026-03-28T12:00:00Z')))).toBe(
      '2026-03-29T01:00:00.000Z',
    );
  });

  it('weekly on its weekday; off never', () => {
    const s = { schedule: 'weekly', at: '23:30', weekday: 'wednesday' } as const;
    // 2026-01-10 is a Saturday; the next Wednesday is the 14th, 23:30 in New York = 04:30 UTC on the 15th.
    expect(iso(nextBackupAt(s, 'America/New_York', utc('2026-01-10T12:00:00Z')))).toBe(
      '2026-01-15T04:30:00.000Z',
    );
    expect(nextBackupAt({ ...s, schedule: 'off' }, 'UTC', Date.now())).toBeNull();
  });

  it('keeps the newest N of this server and never touches other files', () => {
    const names = [
      backupName('vg', utc('2026-01-03T02:00:00Z')),
      'notes.txt',
      backupName('vg', utc('2026-01-01T02:00:00Z')),
      backupName('other', utc('2025-01-01T02:00:00Z')),
      backupName('vg', utc('2026-01-02T02:00:00Z')),
      `${backupName('vg', utc('2025-12-01T02:00:00Z'))}.partial`,
    ];
    expect(backupsToPrune(names, 'voicegate-backup-vg-', 2)).toEqual([
      'voicegate-backup-vg-20260101T020000Z.tar.gz',
    ]);
  });
});
