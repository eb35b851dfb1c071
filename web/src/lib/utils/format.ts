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

const formats = new Map<string, Intl.DateTimeFormat>();
/**
 * A formatter, made once per (language, zone, style): making one costs far more than using it,
 * and a scrolled list formats a row's date each time the row comes on screen.
 */
function formatter(
  language: string,
  timeZone: string,
  style: 'time' | 'weekday' | 'date',
): Intl.DateTimeFormat {
  const key = `${language} ${timeZone} ${style}`;
  let f = formats.get(key);
  if (!f) {
    const options: Intl.DateTimeFormatOptions =
      style === 'time'
        ? { hour: '2-digit', minute: '2-digit' }
        : style === 'weekday'
          ? { weekday: 'long' }
          : { day: 'numeric', month: 'short', year: 'numeric' };
    f = new Intl.DateTimeFormat(language, { timeZone, ...options });
    formats.set(key, f);
  }
  return f;
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
  const time = formatter(language, zone, 'time').format(date);
  const days = Math.round(
    (Date.parse(localDay(now, zone)) - Date.parse(localDay(date, zone))) / 86_400_000,
  );
  if (days === 0) return say('date.today', { time });
  if (days === 1) return say('date.yesterday', { time });
  if (days > 1 && days < 7) return `${formatter(language, zone, 'weekday').format(date)} ${time}`;
  return `${formatter(language, zone, 'date').format(date)} ${time}`;
}

const zones = new Map<string, string>();
/** The zone if the browser knows it, else UTC (checked once per zone). */
function validZone(timeZone: string): string {
  let valid = zones.get(timeZone);
  if (valid === undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone });
      valid = timeZone;
    } catch {
      valid = 'UTC';
    }
    zones.set(timeZone, valid);
  }
  return valid;
}
