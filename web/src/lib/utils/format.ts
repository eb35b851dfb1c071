/** 65_000 -> "1:05"; an hour or more -> "1:00:05". */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

const STATE_LABELS: Record<string, string> = {
  new: 'New',
  unopened: 'Unopened',
  old: 'Old',
  saved: 'Saved',
  deleted: 'Deleted',
};

export function stateLabel(state: string): string {
  return STATE_LABELS[state] ?? state;
}

/** A date-time shown in the mailbox's own zone and locale, falling back to the browser's. */
export function formatDateTime(iso: string, locale?: string, timeZone?: string): string {
  const date = new Date(iso);
  const style = { dateStyle: 'medium', timeStyle: 'short' } as const;
  try {
    return date.toLocaleString(locale?.replace('_', '-'), { ...style, timeZone });
  } catch {
    return date.toLocaleString(undefined, style);
  }
}
