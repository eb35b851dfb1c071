/** The keyboard shortcuts, as one table: the handlers and the help dialog both read it. */
export const SHORTCUTS = [
  { key: ' ', label: 'Space', command: 'togglePlay', help: 'Play or pause' },
  { key: 'ArrowLeft', label: '←', command: 'rewind', help: 'Back 5 seconds' },
  { key: 'ArrowRight', label: '→', command: 'fastForward', help: 'Forward 5 seconds' },
  { key: 'j', label: 'j', command: 'next', help: 'Next message' },
  { key: 'k', label: 'k', command: 'previous', help: 'Previous message' },
  { key: 'u', label: 'u', command: 'markUnread', help: 'Mark unread' },
  { key: 's', label: 's', command: 'toggleSave', help: 'Save or unsave' },
  { key: 'Delete', label: 'Delete', command: 'delete', help: 'Delete (move to Deleted)' },
  { key: '?', label: '?', command: 'help', help: 'Show these shortcuts' },
] as const;

export type Command = (typeof SHORTCUTS)[number]['command'];

const byKey = new Map<string, Command>(SHORTCUTS.map((s) => [s.key, s.command]));

/**
 * The command a key press asks for, or null when the key belongs to something else: typing in
 * a field, a modifier chord, an open dialog, or Space on a button (which presses the button).
 */
export function commandFor(event: KeyboardEvent): Command | null {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return null;
  if (document.querySelector('dialog[open]')) return null;
  const target = event.target instanceof Element ? event.target : null;
  if (target?.closest('input, textarea, select, [contenteditable]:not([contenteditable=false])'))
    return null;
  if (event.key === ' ' && target?.closest('button, summary, [role=button]')) return null;
  return byKey.get(event.key) ?? null;
}
