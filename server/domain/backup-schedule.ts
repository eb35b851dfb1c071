/**
 * When scheduled backups run, and which old ones go: pure rules, so the part that runs them only
 * keeps a timer and the tests need no clock.
 */
export const WEEKDAYS = [
  'sunday',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface BackupSchedule {
  schedule: 'off' | 'daily' | 'weekly';
  /** HH:MM, in the server's time zone. */
  at: string;
  /** For weekly backups. */
  weekday: Weekday;
}

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number;
}

function wallClock(utcMs: number, timeZone: string): Wall {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    weekday: 'short',
  }).formatToParts(utcMs);
  const get = (t: string): string => parts.find((p) => p.type === t)!.value;
  return {
    year: Number(get('year')),
    month: Number(get('month')),
    day: Number(get('day')),
    hour: Number(get('hour')),
    minute: Number(get('minute')),
    weekday: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(get('weekday')),
  };
}

/**
 * The UTC instant a wall-clock time has in a zone. A time that a DST change skips runs an hour
 * later, one that it repeats runs the first time.
 */
function fromWallClock(w: Omit<Wall, 'weekday'>, timeZone: string): number {
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
  let guess = asUtc;
  for (let i = 0; i < 2; i++) {
    const seen = wallClock(guess, timeZone);
    const seenUtc = Date.UTC(seen.year, seen.month - 1, seen.day, seen.hour, seen.minute);
    guess += asUtc - seenUtc;
  }
  return guess;
}

/** The first scheduled time strictly after `after` (UTC ms), or null when backups are off. */
export function nextBackupAt(s: BackupSchedule, timeZone: string, after: number): number | null {
  if (s.schedule === 'off') return null;
  const [hour, minute] = s.at.split(':').map(Number) as [number, number];
  const today = wallClock(after, timeZone);
  for (let days = 0; days <= 8; days++) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + days));
    if (s.schedule === 'weekly' && WEEKDAYS[date.getUTCDay()] !== s.weekday) continue;
    const at = fromWallClock(
      {
        year: date.getUTCFullYear(),
        month: date.getUTCMonth() + 1,
        day: date.getUTCDate(),
        hour,
        minute,
      },
      timeZone,
    );
    if (at > after) return at;
  }
  return null;
}

/**
 * The backups to remove so that the newest `keep` stay. Names sort by the time they carry
 * (`voicegate-backup-SERVER-YYYYMMDDTHHMMSSZ.tar.gz`); names of other files are never chosen.
 */
export function backupsToPrune(names: readonly string[], prefix: string, keep: number): string[] {
  const ours = names
    .filter((n) => n.startsWith(prefix) && /-\d{8}T\d{6}Z\.tar\.gz$/.test(n))
    .sort();
  return ours.slice(0, Math.max(0, ours.length - keep));
}

/** The archive name of a backup taken at `at`: sortable by time. */
export function backupName(server: string, at: number): string {
  const stamp = new Date(at)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `voicegate-backup-${server}-${stamp}.tar.gz`;
}
