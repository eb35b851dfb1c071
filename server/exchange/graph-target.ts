import type { Delivery, DeliveryResult, DeliveryTarget } from '../domain/delivery.ts';
import { exchangePayload } from '../domain/exchange.ts';
import type { AudioStore, VoicemailStore } from '../domain/ports.ts';
import { TokenRefused, type GraphCredentials } from './graph-auth.ts';
import {
  GraphClient,
  GraphError,
  INLINE_ATTACHMENT_LIMIT,
  type GraphMessage,
} from './graph-client.ts';
import { deliverToInbox, type FoundItem } from './item-delivery.ts';
import { updateItem, type ItemProtocol } from './item-update.ts';
import { httpClientFor } from './https-client.ts';
import { graphMessage } from './voicemail-item.ts';

export interface GraphConnection extends GraphCredentials {
  name: string;
  caFile: string;
}

export interface GraphTargetOptions {
  connections: GraphConnection[];
  /** Mail domain, for the sender address of a caller without a number. */
  domain: string;
  webUrl?: string;
}

/**
 * Delivers voicemail into Exchange Online mailboxes through Microsoft Graph: the item is created
 * in the user's Inbox as a voicemail (class, voice properties, unread, not a draft, the WAV
 * attached), then remembered on the message, which from then on is its shadow. Before creating,
 * the item is looked up by its Internet Message-ID (the voicemail's identity), so an attempt
 * that created it and died before remembering it never makes a second one.
 */
export class GraphTarget implements DeliveryTarget {
  readonly kind = 'graph';
  readonly #o: GraphTargetOptions;
  readonly #store: VoicemailStore;
  readonly #audio: AudioStore;
  readonly #clients = new Map<string, GraphClient>();

  constructor(opts: GraphTargetOptions, store: VoicemailStore, audio: AudioStore) {
    this.#o = opts;
    this.#store = store;
    this.#audio = audio;
  }

  /** The client of a configured connection, made once (msal keeps its token cache in it). */
  client(name: string): GraphClient | null {
    let client = this.#clients.get(name);
    if (client) return client;
    const c = this.#o.connections.find((x) => x.name === name);
    if (!c) return null;
    client = new GraphClient(c, httpClientFor(c));
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
    const ref = (m: GraphMessage): FoundItem => ({
      itemId: m.id,
      changeKey: m.changeKey ?? null,
      hasAttachments: m.hasAttachments ?? null,
    });
    const items = graphItems(client);
    if (item.kind === 'update') return updateItem(item, this.#store, items, signal);
    return deliverToInbox(
      item,
      { store: this.#store, audio: this.#audio, ...this.#o },
      {
        ...items,
        find: async (address, v, sig) => {
          const [m] = await client.findByInternetMessageId(address, v.internetMessageId, sig);
          return m ? ref(m) : null;
        },
        // A large WAV follows the item in an upload session.
        create: async (address, v, audio, sig) => {
          const inline = audio.length < INLINE_ATTACHMENT_LIMIT;
          const m = await client.createInInbox(
            address,
            graphMessage(v, inline ? audio : null),
            sig,
          );
          if (!inline) await client.attach(address, m.id, { ...v.attachment, bytes: audio }, sig);
          return ref(m);
        },
        // An item found without its WAV (an attempt that died while uploading) gets it now.
        complete: async (address, found, v, audio, sig) => {
          if (found.hasAttachments === false)
            await client.attach(address, found.itemId, { ...v.attachment, bytes: audio }, sig);
        },
      },
      signal,
    );
  }
}

/** The write-back steps over Graph: the message's folder and marks, PATCH, move, delete. */
function graphItems(client: GraphClient): ItemProtocol {
  return {
    read: async (address, ref, signal) => {
      const m = await client.message(address, ref.itemId, signal);
      if (!m) return null;
      const [inbox, trash] = [
        await client.folderId(address, 'inbox', signal),
        await client.folderId(address, 'deleteditems', signal),
      ];
      return {
        place:
          m.parentFolderId === inbox
            ? 'inbox'
            : m.parentFolderId === trash
              ? 'deleted'
              : 'elsewhere',
        isRead: m.isRead === true,
        flagged: m.flag?.flagStatus === 'flagged' || m.flag?.flagStatus === 'complete',
      };
    },
    move: async (address, ref, to, signal) => {
      const m = await client.move(address, ref.itemId, to, signal);
      return { itemId: m.id, changeKey: m.changeKey ?? null };
    },
    mark: async (address, ref, marks, signal) => {
      const m = await client.update(
        address,
        ref.itemId,
        {
          ...(marks.isRead === undefined ? {} : { isRead: marks.isRead }),
          ...(marks.flagged === undefined
            ? {}
            : { flag: { flagStatus: marks.flagged ? 'flagged' : 'notFlagged' } }),
        },
        signal,
      );
      return { itemId: m.id, changeKey: m.changeKey ?? null };
    },
    findAll: async (address, internetMessageId, signal) =>
      (await client.findByInternetMessageId(address, internetMessageId, signal)).map((m) => ({
        itemId: m.id,
        changeKey: m.changeKey ?? null,
      })),
    remove: (address, ref, signal) => client.remove(address, ref.itemId, signal),
    result: graphResult,
  };
}

/**
 * What a failure means for the queue: a mailbox Graph does not know is refused for good (the
 * voicemail stays here, the failure on record); throttling and unavailability wait for the
 * time the server names; refused credentials, missing permissions and network faults wait and
 * try again, each with a reason an administrator can act on.
 */
export function graphResult(err: unknown, address: string): DeliveryResult {
  if (err instanceof TokenRefused) return { status: 'retry', reason: err.message };
  if (err instanceof GraphError) {
    const reason = `${address}: Graph ${err.status} ${err.code}: ${err.message}`;
    if (
      err.status === 404 &&
      /ErrorInvalidUser|MailboxNotEnabledForRESTAPI|ResourceNotFound/.test(err.code)
    )
      return { status: 'fail', reason: `${address}: no such Exchange mailbox (${err.code})` };
    if (err.status === 429 || err.status === 503)
      return { status: 'retry', reason, afterMs: err.retryAfterMs };
    return { status: 'retry', reason };
  }
  const e = err as { code?: string; message?: string };
  if (e.code === 'ABORT_ERR' || (err as Error).name === 'AbortError')
    return { status: 'retry', reason: `${address}: Exchange did not answer in time` };
  return {
    status: 'retry',
    reason: `${address}: ${e.code ?? ''} ${e.message ?? String(err)}`.trim(),
  };
}
