/** The keyboard shortcuts, as one table: the handlers and the help dialog (its words in the catalogues, `shortcuts.<command>`) both read it. */
export const SHORTCUTS = [
  { key: ' ', label: 'Space', command: 'togglePlay' },
  { key: 'ArrowLeft', label: '←', command: 'rewind' },
  { key: 'ArrowRight', label: '→', command: 'fastForward' },
  { key: 'j', label: 'j', command: 'next' },
  { key: 'k', label: 'k', command: 'previous' },
  { key: 'u', label: 'u', command: 'markUnread' },
  { key: 's', label: 's', command: 'toggleSave' },
  { key: 'Delete', label: 'Delete', command: 'delete' },
  { key: '?', label: '?', command: 'help' },
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
