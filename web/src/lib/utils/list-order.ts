/** The list's orders; the one a user chose last is kept by the server (`session.listOrder`). */
import type { ListOrder } from '../api-types.ts';

export const ORDERS = ['newest', 'oldest', 'priority'] as const satisfies readonly ListOrder[];
export type { ListOrder };
