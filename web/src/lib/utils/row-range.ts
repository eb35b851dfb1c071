/**
 * The arithmetic of the message list's window: rows of one fixed height, so which rows are on
 * screen follows from the scroll position alone, with nothing measured.
 */

/** A phone's width: the caller's number gets a line of its own, so rows are taller. */
export const NARROW = '(max-width: 40rem)';
/** A row's height in rem (the list's CSS lays rows out within it). */
const ROW_REM = { wide: 3.75, narrow: 5 };
/** Rows rendered beyond each edge of the screen, at least. */
const OVERSCAN = 6;
/**
 * The range moves by this many rows at a time: scrolling changes the document every few rows
 * instead of at every one, and most frames only move what is drawn already.
 */
const STEP = 4;

/** A row's height in pixels, from the root font size (the user's text size is kept). */
export function rowHeight(narrow: boolean): number {
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  return rem * (narrow ? ROW_REM.narrow : ROW_REM.wide);
}

/**
 * The rows to render, `first` included and `last` excluded, for a screen of `height` pixels
 * whose top is `offset` pixels below the list's top (negative above it).
 */
export function rowRange(
  offset: number,
  height: number,
  row: number,
  count: number,
): { first: number; last: number } {
  const first = Math.max(0, Math.floor((Math.floor(offset / row) - OVERSCAN) / STEP) * STEP);
  const end = Math.ceil((Math.ceil((offset + height) / row) + OVERSCAN) / STEP) * STEP;
  const last = Math.max(first, Math.min(count, end));
  return { first, last };
}
