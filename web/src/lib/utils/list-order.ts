/** The list order a user chose, remembered per mailbox in this browser. */
export const ORDERS = ['newest', 'oldest', 'priority'] as const;
export type ListOrder = (typeof ORDERS)[number];

const key = (mailbox: string) => `voicegate.order.${mailbox}`;

export function rememberedOrder(mailbox: string | undefined): ListOrder {
  try {
    const value = mailbox ? localStorage.getItem(key(mailbox)) : null;
    return (ORDERS as readonly string[]).includes(value ?? '') ? (value as ListOrder) : 'newest';
  } catch {
    return 'newest';
  }
}

export function rememberOrder(mailbox: string | undefined, order: ListOrder): void {
  try {
    if (mailbox) localStorage.setItem(key(mailbox), order);
  } catch {
    // Storage refused (private mode): the order holds for this visit only.
  }
}
