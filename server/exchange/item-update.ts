import type { Delivery, DeliveryResult } from '../domain/delivery.ts';
import type { ExchangeItemRef } from '../domain/exchange.ts';
import { marksFor } from '../domain/exchange-state.ts';
import type { VoicemailStore } from '../domain/ports.ts';

/** An Exchange item's folder and marks, as a write-back finds them. */
export interface ItemMarks {
  place: 'inbox' | 'deleted' | 'elsewhere';
  isRead: boolean;
  flagged: boolean;
}

/** What one protocol (EWS, Graph) does to write a voicemail's state to its item. */
export interface ItemProtocol {
  /** The item's folder and marks; null when there is no item by that id (moved or purged). */
  read(address: string, ref: ExchangeItemRef, signal: AbortSignal): Promise<ItemMarks | null>;
  /** Moves the item; returns its id after the move (EWS gives a moved item a new one). */
  move(
    address: string,
    ref: ExchangeItemRef,
    to: 'inbox' | 'deleteditems',
    signal: AbortSignal,
  ): Promise<ExchangeItemRef>;
  mark(
    address: string,
    ref: ExchangeItemRef,
    marks: { isRead?: boolean; flagged?: boolean },
    signal: AbortSignal,
  ): Promise<ExchangeItemRef>;
  /** The items made for the voicemail whose Internet Message-ID is `internetMessageId`. */
  findAll(
    address: string,
    internetMessageId: string,
    signal: AbortSignal,
  ): Promise<ExchangeItemRef[]>;
  /** Deletes the item (as Outlook does when a user empties Deleted Items). */
  remove(address: string, ref: ExchangeItemRef, signal: AbortSignal): Promise<void>;
  result(err: unknown, address: string): DeliveryResult;
}

/** Write-backs of one message run one at a time in this process, in the order they started. */
const running = new Map<string, Promise<unknown>>();

export function oneAtATime<T>(key: string, work: () => Promise<T>): Promise<T> {
  const before = running.get(key) ?? Promise.resolve();
  const mine = before.then(work, work);
  const settled = mine.catch(() => {});
  running.set(key, settled);
  void settled.then(() => running.get(key) === settled && running.delete(key));
  return mine;
}

/**
 * An `update` delivery: makes the message's Exchange item look like the message now. A message
 * purged here has its item deleted (found by its identity); one whose item is not made yet has
 * nothing to do (the delivery that makes it sets its state).
 */
export function updateItem(
  item: Delivery,
  store: VoicemailStore,
  protocol: ItemProtocol,
  signal: AbortSignal,
): Promise<DeliveryResult> {
  const messageId = item.messageId;
  const address = item.recipient;
  if (!messageId)
    return Promise.resolve({ status: 'fail', reason: 'an update without its message' });
  return oneAtATime(messageId, async () => {
    try {
      if (!(await store.getMessage(messageId))) {
        const found = await protocol.findAll(address, `<${item.identity}>`, signal);
        for (const ref of found) await protocol.remove(address, ref, signal);
        return { status: 'ok', detail: `${address}: purged, ${found.length} item(s) deleted` };
      }
      const ref = await store.getExchangeItem(messageId);
      if (!ref) return { status: 'ok', detail: 'not in Exchange yet: made there with its state' };
      return await matchItem(
        address,
        messageId,
        `<${item.identity}>`,
        ref,
        store,
        protocol,
        signal,
      );
    } catch (err) {
      return protocol.result(err, address);
    }
  });
}

/**
 * Makes item `ref` show the state of message `messageId`: moved to Deleted Items or back, then
 * read and flag marks, only what differs. Read again after writing: a change made meanwhile is
 * written too, so the item ends as the message is. An item not found by its id (moved by an
 * attempt that died before remembering the new id) is found by its identity.
 */
export async function matchItem(
  address: string,
  messageId: string,
  internetMessageId: string,
  ref: ExchangeItemRef,
  store: VoicemailStore,
  protocol: ItemProtocol,
  signal: AbortSignal,
): Promise<DeliveryResult> {
  for (let round = 0; round < 3; round++) {
    const message = await store.getMessage(messageId);
    if (!message) return { status: 'ok', detail: 'purged meanwhile' };
    const want = marksFor(message);
    let has = await protocol.read(address, ref, signal);
    if (!has) {
      const [again] = await protocol.findAll(address, internetMessageId, signal);
      has = again ? await protocol.read(address, again, signal) : null;
      if (!again || !has)
        return { status: 'ok', detail: `${address}: the item is no longer in Exchange` };
      ref = again;
    }
    let now = ref;
    if (want.place === 'deleted' && has.place !== 'deleted')
      now = await protocol.move(address, now, 'deleteditems', signal);
    else if (want.place === 'inbox' && has.place === 'deleted')
      now = await protocol.move(address, now, 'inbox', signal);
    const marks: { isRead?: boolean; flagged?: boolean } = {};
    if (has.isRead !== want.isRead) marks.isRead = want.isRead;
    if (has.flagged !== want.flagged) marks.flagged = want.flagged;
    if (marks.isRead !== undefined || marks.flagged !== undefined)
      now = await protocol.mark(address, now, marks, signal);
    if (now.itemId !== ref.itemId || now.changeKey !== ref.changeKey)
      await store.setExchangeItem(messageId, now);
    ref = now;
    const after = await store.getMessage(messageId);
    if (!after || (after.state === message.state && after.deletedFrom === message.deletedFrom))
      return { status: 'ok', detail: `${address}: item shows ${message.state}` };
  }
  return { status: 'ok', detail: `${address}: item updated` };
}
