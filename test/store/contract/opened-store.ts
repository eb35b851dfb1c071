import type { OpenedStore as Opened } from '../../../server/domain/ports.ts';

/**
 * What each contract runs against: a fresh, empty store as `openStore` returns it, plus
 * `reopen`, a second independent handle on the same data, as another process (or another node
 * on a shared back end) opens it. Closing the first handle also removes its data; close a
 * reopened handle before it.
 */
export interface OpenedStore extends Opened {
  reopen(): Promise<OpenedStore>;
}

/** Each contract file exports one of these; the runner of a back end calls it with its opener. */
export type Contract = (open: () => Promise<OpenedStore>) => void;
