import type { Delivery, DeliveryResult, DeliveryTarget } from '../domain/delivery.ts';
import { exchangePayload } from '../domain/exchange.ts';
import type { AudioStore, VoicemailStore } from '../domain/ports.ts';
import { EwsClient, ewsTransport, type EwsConnection } from './ews-client.ts';
import { EwsError } from './ews-soap.ts';
import { TokenRefused } from './graph-auth.ts';
import { deliverToInbox } from './item-delivery.ts';
import { updateItem, type ItemProtocol } from './item-update.ts';

export interface EwsTargetOptions {
  connections: (EwsConnection & { name: string; caFile: string })[];
  domain: string;
  webUrl?: string;
}

/**
 * Delivers voicemail into Exchange Server mailboxes (and Exchange Online until its EWS is
 * retired) over EWS: CreateItem in the user's Inbox with the voicemail class, properties and
 * WAV; found again first by its Internet Message-ID (PidTagInternetMessageId), so a crash
 * between creating the item and remembering it never makes a second one.
 */
export class EwsTarget implements DeliveryTarget {
  readonly kind = 'ews';
  readonly #o: EwsTargetOptions;
  readonly #store: VoicemailStore;
  readonly #audio: AudioStore;
  readonly #clients = new Map<string, EwsClient>();

  constructor(opts: EwsTargetOptions, store: VoicemailStore, audio: AudioStore) {
    this.#o = opts;
    this.#store = store;
    this.#audio = audio;
  }

  client(name: string): EwsClient | null {
    let client = this.#clients.get(name);
    if (client) return client;
    const c = this.#o.connections.find((x) => x.name === name);
    if (!c) return null;
    client = new EwsClient(c, ewsTransport(c));
    this.#clients.set(name, client);
    return client;
  }

  async deliver(item: Delivery, signal: AbortSignal): Promise<DeliveryResult> {
    if (item.kind !== 'copy' && item.kind !== 'update')
      return { status: 'fail', reason: `a ${item.kind} delivery is not made into Exchange` };
    const { connection } = exchangePayload(item.payload);
    const client = this.client(connection);
    if (!client)
      return { status: 'retry', reason: `Exchange connection "${connection}" is not configured` };
    const steps = ewsItems(client);
    if (item.kind === 'update') return updateItem(item, this.#store, steps, signal);
    return deliverToInbox(
      item,
      { store: this.#store, audio: this.#audio, ...this.#o },
      {
        ...steps,
        find: (address, v, sig) =>
          client.findByInternetMessageId(address, v.internetMessageId, sig),
        create: (address, v, audio, sig) => client.createInInbox(address, v, audio, sig),
      },
      signal,
    );
  }
}

/** The write-back steps over EWS: GetItem, MoveItem (a new ItemId), UpdateItem, DeleteItem. */
function ewsItems(client: EwsClient): ItemProtocol {
  const ref = (i: { itemId: string; changeKey: string | null }) => ({
    itemId: i.itemId,
    changeKey: i.changeKey,
  });
  return {
    read: async (address, item, signal) => {
      const m = await client.marks(address, item.itemId, signal);
      if (!m) return null;
      const inbox = await client.folderId(address, 'inbox', signal);
      const trash = await client.folderId(address, 'deleteditems', signal);
      const place = m.folderId === inbox ? 'inbox' : m.folderId === trash ? 'deleted' : 'elsewhere';
      return { place, isRead: m.isRead, flagged: m.flagged };
    },
    move: async (address, item, to, signal) =>
      ref(await client.move(address, item.itemId, to, signal)),
    mark: async (address, item, marks, signal) =>
      ref(await client.mark(address, item.itemId, marks, signal)),
    findAll: async (address, id, signal) =>
      (await client.findAll(address, id, ['inbox', 'deleteditems'], signal)).map(ref),
    remove: (address, item, signal) => client.remove(address, item.itemId, signal, 'SoftDelete'),
    result: ewsResult,
  };
}

/** Response codes that name a mailbox Exchange does not have (MS-OXWSCDATA ResponseCodeType). */
const NO_MAILBOX = new Set(['ErrorNonExistentMailbox', 'ErrorMailRecipientNotFound']);

/**
 * What an EWS failure means for the queue: no such mailbox fails for good (the voicemail stays
 * here with the failure on it); ErrorServerBusy waits BackOffMilliseconds; refused credentials,
 * refused impersonation and network faults wait and try again with the reason on record.
 */
export function ewsResult(err: unknown, address: string): DeliveryResult {
  if (err instanceof TokenRefused) return { status: 'retry', reason: err.message };
  if (err instanceof EwsError) {
    if (NO_MAILBOX.has(err.code))
      return { status: 'fail', reason: `${address}: no such Exchange mailbox (${err.code})` };
    const reason = `${address}: EWS ${err.code}: ${err.message}`;
    if (err.code === 'ErrorServerBusy' || err.status === 503)
      return { status: 'retry', reason, afterMs: err.backOffMs };
    return { status: 'retry', reason };
  }
  const e = err as { code?: string; message?: string; name?: string };
  if (e.name === 'AbortError')
    return { status: 'retry', reason: `${address}: Exchange did not answer in time` };
  return {
    status: 'retry',
    reason: `${address}: ${e.code ?? ''} ${e.message ?? String(err)}`.trim(),
  };
}
