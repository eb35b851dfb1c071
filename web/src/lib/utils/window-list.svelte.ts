/**
 * Which rows of a long list are on screen, the page itself scrolling: TanStack Virtual's core
 * (a maintained, framework-free windowing library) with its state kept in runes. Only those
 * rows, and a few either side, are in the document; the space of the others is padding, so
 * the page's scroll bar and position stay those of the whole list.
 */
import {
  Virtualizer,
  observeWindowOffset,
  observeWindowRect,
  windowScroll,
  type VirtualItem,
} from '@tanstack/virtual-core';

export class WindowList {
  #items = $state.raw<VirtualItem[]>([]);
  #before = $state(0);
  #after = $state(0);
  readonly #v: Virtualizer<Window, Element>;
  /** Rows measured already: their later changes come through the library's ResizeObserver. */
  #measured = new WeakSet<Element>();

  /** `estimate`: a row's height in pixels until it is measured (rows may wrap on phones). */
  constructor(estimate: number) {
    this.#v = new Virtualizer<Window, Element>({
      count: 0,
      getScrollElement: () => window,
      estimateSize: () => estimate,
      overscan: 8,
      observeElementRect: observeWindowRect,
      observeElementOffset: observeWindowOffset,
      scrollToFn: windowScroll,
      initialOffset: () => window.scrollY,
      onChange: () => this.#read(),
    });
  }

  /** The rows to render, by index into the list. */
  get items(): VirtualItem[] {
    return this.#items;
  }

  /** Space for the rows above and below those rendered, in pixels. */
  get before(): number {
    return this.#before;
  }

  get after(): number {
    return this.#after;
  }

  /** The list's length, and where it starts on the page (`top`, from the document's top). */
  update(count: number, top: number): void {
    this.#v.setOptions({ ...this.#v.options, count, scrollMargin: top });
    this.#v._willUpdate();
    this.#read();
  }

  /** Starts following the window's size and scrolling; returns the stop. */
  mount(): () => void {
    const stop = this.#v._didMount();
    this.#v._willUpdate();
    return stop;
  }

  /** Takes a rendered row's real height (it carries `data-index`), and follows its changes. */
  measure(row: Element): void {
    if (this.#measured.has(row)) return;
    this.#measured.add(row);
    this.#v.measureElement(row);
  }

  #read(): void {
    const items = this.#v.getVirtualItems();
    const margin = this.#v.options.scrollMargin;
    const first = items[0];
    const last = items[items.length - 1];
    this.#items = items;
    this.#before = first ? first.start - margin : 0;
    this.#after = last ? Math.max(0, this.#v.getTotalSize() - (last.end - margin)) : 0;
  }
}
