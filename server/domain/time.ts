/** Times are stored in UTC and shown in the mailbox's own zone, so each site sees its local time. */
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Making a formatter costs far more than using one: one per time zone, kept. */
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * Formatting is most of the cost of listing a mailbox, and a list is fetched again after every
 * change with nearly the same times: each (zone, minute) is formatted once, up to a bound.
 */
const formatted = new Map<string, string>();
const MAX_FORMATTED = 50_000;

export function formatLocalTime(utcMs: number, timeZone: string): string {
  const key = `${timeZone} ${Math.floor(utcMs / 60_000)}`;
  const known = formatted.get(key);
  if (known !== undefined) return known;
  const parts = formatterFor(timeZone).formatToParts(new Date(utcMs));
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  const text = `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`;
  if (formatted.size >= MAX_FORMATTED) formatted.clear();
  formatted.set(key, text);
  return text;
}

export function formatDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

/** How far `timeZone`'s wall clock is ahead of UTC at `utcMs` (ms; minutes precision). */
function zoneOffset(utcMs: number, timeZone: string): number {
  const parts = formatterFor(timeZone).formatToParts(new Date(utcMs));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'));
  return wall - Math.floor(utcMs / 60_000) * 60_000;
}

/**
 * The instant a local day (`YYYY-MM-DD`) starts in `timeZone`, as UTC ms; null when `day` is
 * not a date. Around a change of clocks the offset is taken again at the instant found.
 */
export function localDayStart(day: string, timeZone: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return null;
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (new Date(wall).toISOString().slice(0, 10) !== day) return null;
  const guess = wall - zoneOffset(wall, timeZone);
  return wall - zoneOffset(guess, timeZone);
}
