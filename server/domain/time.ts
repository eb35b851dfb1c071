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
