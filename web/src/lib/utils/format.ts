import { t } from '../i18n/i18n.svelte.ts';
/** 65_000 -> "1:05"; an hour or more -> "1:00:05". */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

const STATES = new Set(['new', 'unopened', 'old', 'saved', 'deleted']);

/** A message state in the reader's language. */
export function stateLabel(state: string): string {
  return STATES.has(state) ? t(`state.${state}`) : state;
}

const dayKeys = new Map<string, Intl.DateTimeFormat>();
/** YYYY-MM-DD of `date` in `timeZone`. */
function localDay(date: Date, timeZone: string): string {
  let f = dayKeys.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    dayKeys.set(timeZone, f);
  }
  return f.format(date);
}

/**
 * The one way a message's time is shown (list, message, greetings): "Today 14:02", "Yesterday
 * 09:10", the weekday within a week, then the date; always in the mailbox's time zone.
 */
export function relativeDate(
  iso: string,
  timeZone: string,
  language: string,
  say: (key: string, params: Record<string, string>) => string,
  now = new Date(),
): string {
  const date = new Date(iso);
  const zone = validZone(timeZone);
  const time = new Intl.DateTimeFormat(language, {
    timeZone: zone,
    hour: '2-digit',
    minute: '2-digit',
  }).format(date);
  const days = Math.round(
    (Date.parse(localDay(now, zone)) - Date.parse(localDay(date, zone))) / 86_400_000,
  );
  if (days === 0) return say('date.today', { time });
  if (days === 1) return say('date.yesterday', { time });
  if (days > 1 && days < 7) {
    const weekday = new Intl.DateTimeFormat(language, { timeZone: zone, weekday: 'long' });
    return `${weekday.format(date)} ${time}`;
  }
  const dateStyle = new Intl.DateTimeFormat(language, {
    timeZone: zone,
    day: 'numeric',
    month: 'short',
    year: 'numeric',
  });
  return `${dateStyle.format(date)} ${time}`;
}

function validZone(timeZone: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return timeZone;
  } catch {
    return 'UTC';
  }
}
