/** The list's orders; the one a user chose last is kept by the server (`session.listOrder`). */
import type { ListOrder } from '../api-types.ts';

export const ORDERS = ['newest', 'oldest', 'priority'] as const satisfies readonly ListOrder[];
export type { ListOrder };

/** A folder's search as the URL has it (`q=ann&state=new`); without an order in it, `chosen`. */
export function listSearch(text: string, chosen: ListOrder): URLSearchParams {
  const search = new URLSearchParams(text);
  const order = search.get('order') ?? chosen;
  if (order === 'newest') search.delete('order');
  else search.set('order', order);
  return search;
}
