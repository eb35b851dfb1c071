/**
 * Which rows of a long list are on screen, the page itself scrolling: TanStack Virtual's core
 * (a maintained, framework-free windowing library) with its state kept in runes. Only those
 * rows, and a few either side, are in the document; the space of the others is padding, so the
 * page's scroll bar and position stay those of the whole list.
 *
 * The list may be hidden and shown again without losing its place (on a phone an open message
 * hides it): a hidden row measures 0 pixels, and taking that as its height would shrink the
 * page under the position to return to, so a hidden row keeps the height it had.
 */
import {
  Virtualizer,
  measureElement,
  observeWindowOffset,
  observeWindowRect,
  windowScroll,
  type VirtualItem,
} from '@tanstack/virtual-core';

export interface WindowListOptions {
  /** A row's height in pixels until it is measured (rows may wrap on phones). */
  estimate: number;
  /** A row's stable key (its message id): measured heights follow the row, not its place. */
  key: (index: number) => string;
  /** Rows rendered beyond each edge of the screen. */
  overscan?: number;
}

export class WindowList {
  #items = $state.raw<VirtualItem[]>([]);
  #before = $state(0);
  #after = $state(0);
  readonly #v: Virtualizer<Window, Element>;
  readonly #key: (index: number) => string;

  constructor({ estimate, key, overscan = 8 }: WindowListOptions) {
    this.#key = key;
    this.#v = new Virtualizer<Window, Element>({
      count: 0,
      getScrollElement: () => window,
      estimateSize: () => estimate,
      getItemKey: key,
      overscan,
      observeElementRect: observeWindowRect,
      observeElementOffset: observeWindowOffset,
      scrollToFn: windowScroll,
      initialOffset: () => window.scrollY,
      // Sizes come from the ResizeObserver only (after layout, before paint): reading a new
      // row's height as it is added would force a layout in the middle of rendering or scrolling.
      measureElement: (row, entry, v) => {
        const size = entry ? measureElement(row, entry, v) : 0;
        if (size > 0) return size;
        return v.itemSizeCache.get(key(v.indexFromElement(row))) ?? estimate;
      },
      onChange: () => this.#read(),
    });
  }

  /** The rows to render, in order, by index into the list. */
  get items(): VirtualItem[] {
    return this.#items;
  }

  /** Space for the rows above those rendered, in pixels. */
  get before(): number {
    return this.#before;
  }

  /** Space for the rows below those rendered, in pixels. */
  get after(): number {
    return this.#after;
  }

  /**
   * The list changed (a page arrived, a row came or went): its length, and the keys of its rows
   * read again.
   */
  update(count: number): void {
    const key = this.#key;
    this.#v.setOptions({ ...this.#v.options, count, getItemKey: (i) => key(i) });
    this.#v._willUpdate();
    this.#read();
  }

  /**
   * Where the list starts on the page, in pixels from the document's top; ignored while the
   * list is hidden (it would read 0).
   */
  place(list: HTMLElement): void {
    if (!list.checkVisibility()) return;
    const top = Math.round(list.getBoundingClientRect().top + window.scrollY);
    if (top === this.#v.options.scrollMargin) return;
    this.#v.setOptions({ ...this.#v.options, scrollMargin: top });
    this.#v._willUpdate();
    this.#read();
  }

  /** Starts following the window's size and scrolling; returns the stop. */
  mount(): () => void {
    const stop = this.#v._didMount();
    this.#v._willUpdate();
    this.#read();
    return stop;
  }

  /** Takes a rendered row's height (the row carries `data-index`) and follows its changes. */
  measure(row: Element): void {
    this.#v.measureElement(row);
  }

  #read(): void {
    const items = this.#v.getVirtualItems();
    const margin = this.#v.options.scrollMargin;
    const first = items[0];
    const last = items.at(-1);
    this.#items = items;
    this.#before = first ? first.start - margin : 0;
    this.#after = last ? Math.max(0, this.#v.getTotalSize() - (last.end - margin)) : 0;
  }
}
