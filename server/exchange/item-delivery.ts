import type { Delivery, DeliveryResult } from '../domain/delivery.ts';
import type { ExchangeItemRef } from '../domain/exchange.ts';
import type { AudioStore, VoicemailStore } from '../domain/ports.ts';
import { matchItem, oneAtATime, type ItemProtocol } from './item-update.ts';
import { voicemailItem, type VoicemailItem } from './voicemail-item.ts';

/** What one protocol (EWS, Graph) does for a delivery into a user's Inbox. */
export interface InboxProtocol {
  /** The item made before for this voicemail (by its Internet Message-ID), if any. */
  find(address: string, v: VoicemailItem, signal: AbortSignal): Promise<FoundItem | null>;
  create(address: string, v: VoicemailItem, audio: Buffer, signal: AbortSignal): Promise<FoundItem>;
  /** Finishes an item found (an attempt that died half-way): attaches the audio if missing. */
  complete?(
    address: string,
    item: FoundItem,
    v: VoicemailItem,
    audio: Buffer,
    signal: AbortSignal,
  ): Promise<void>;
  /** What a failure means for the queue. */
  result(err: unknown, address: string): DeliveryResult;
}

export interface FoundItem extends ExchangeItemRef {
  hasAttachments: boolean | null;
}

/**
 * The one way a voicemail goes into Exchange, whatever the protocol: nothing for a message
 * purged meanwhile or already delivered; else the item made before is found by the voicemail's
 * identity, or created; then the message remembers it and is its shadow from then on. A message
 * changed before its item existed (heard, saved, deleted) has its state written to the item.
 */
export async function deliverToInbox(
  item: Delivery,
  deps: { store: VoicemailStore; audio: AudioStore; domain: string; webUrl?: string },
  protocol: InboxProtocol & ItemProtocol,
  signal: AbortSignal,
): Promise<DeliveryResult> {
  const mailbox = await deps.store.getMailbox(item.mailboxId);
  if (!mailbox) return { status: 'fail', reason: 'the mailbox no longer exists' };
  if (item.messageId) {
    if (!(await deps.store.getMessage(item.messageId)))
      return { status: 'ok', detail: 'the message was purged before it reached Exchange' };
    if (await deps.store.getExchangeItem(item.messageId))
      return { status: 'ok', detail: 'already in Exchange' };
  }
  const address = item.recipient;
  try {
    const v = voicemailItem(item, mailbox, address, deps);
    const audio = await deps.audio.read(item.audio.key);
    const found = await protocol.find(address, v, signal);
    const made = found ?? (await protocol.create(address, v, audio, signal));
    if (found) await protocol.complete?.(address, found, v, audio, signal);
    const id = item.messageId;
    if (id) {
      const ref = { itemId: made.itemId, changeKey: made.changeKey };
      await deps.store.setExchangeItem(id, ref);
      // Read after remembering the item: a change made since is written by its own update.
      const now = await deps.store.getMessage(id);
      if (now && now.state !== 'new')
        await oneAtATime(id, () =>
          matchItem(address, id, v.internetMessageId, ref, deps.store, protocol, signal),
        );
    }
    return { status: 'ok', detail: `${address}: ${found ? 'found' : 'created'} in Exchange` };
  } catch (err) {
    return protocol.result(err, address);
  }
}
