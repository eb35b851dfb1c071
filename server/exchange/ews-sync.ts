import type { Element } from '@xmldom/xmldom';
import type { ExchangeItemRef } from '../domain/exchange.ts';
import type { ExchangeView } from '../domain/exchange-state.ts';
import { INTERNET_MESSAGE_ID, itemMarks, type EwsClient } from './ews-client.ts';
import { EwsError, folder, NS, text, xml } from './ews-soap.ts';
import { advanceSyncState, type ShadowFollower, type SyncStateStore } from './read-back.ts';

/** What reading an EWS mailbox back needs beyond following: items get new ids when they move. */
export interface EwsShadows extends ShadowFollower {
  identityOf(mailboxId: number, itemId: string): Promise<string | null>;
  relink(mailboxId: number, identity: string, ref: ExchangeItemRef): Promise<boolean>;
}

type Folder = 'inbox' | 'deleteditems';
const FOLDERS: readonly Folder[] = ['inbox', 'deleteditems'];

/** One change SyncFolderItems reports (MS-OXWSSYNC: Create, Update, Delete, ReadFlagChange). */
interface Change {
  kind: 'Create' | 'Update' | 'Delete' | 'ReadFlagChange';
  ref: ExchangeItemRef;
  el: Element;
}

/**
 * Reads one Exchange Server mailbox's changes since the last round: SyncFolderItems of the
 * Inbox and of Deleted Items (each with its own sync state), and hands each voicemail's state to
 * the domain. EWS gives a moved item a new ItemId: an item that arrives in a folder under an id
 * no voicemail has is recognised by its Internet Message-ID (the voicemail's identity) and
 * relinked. An item that left the Inbox and is in neither folder was filed elsewhere (it is
 * kept, as saved); one that left Deleted Items and is in neither was purged. (EWS cannot search
 * every folder for it: FindItem has no deep traversal, so a voicemail deleted for good straight
 * from the Inbox, shift+Delete, is taken for filed elsewhere.)
 */
export async function syncEwsMailbox(
  client: EwsClient,
  address: string,
  mailboxId: number,
  store: SyncStateStore,
  shadows: EwsShadows,
  signal?: AbortSignal,
): Promise<number> {
  const states = syncStates(await store.getExchangeSyncState(mailboxId));
  const changes = new Map<Folder, Change[]>();
  for (const f of FOLDERS) {
    const round = await folderChanges(client, address, f, states[f] ?? null, signal);
    changes.set(f, round.changes);
    states[f] = round.state;
  }
  let followed = 0;
  const follow = async (ref: ExchangeItemRef, identity: string, view: ExchangeView) => {
    if (await shadows.follow(mailboxId, ref.itemId, view)) return true;
    const bare = identity.replace(/^<|>$/g, '');
    if (!bare || !(await shadows.relink(mailboxId, bare, ref))) return false;
    return shadows.follow(mailboxId, ref.itemId, view);
  };
  const arrived = new Set<string>();
  for (const f of FOLDERS)
    for (const c of changes.get(f)!) {
      if (c.kind === 'Delete') continue;
      const el =
        c.kind === 'ReadFlagChange'
          ? await client.getItemElement(address, c.ref.itemId, signal)
          : c.el;
      if (!el) continue;
      const marks = itemMarks(el);
      const identity = identityIn(el);
      arrived.add(identity);
      const view: ExchangeView = {
        place: f === 'inbox' ? 'inbox' : 'deleted',
        isRead: marks.isRead,
        flagged: marks.flagged,
      };
      if (await follow(c.ref, identity, view)) followed++;
    }
  // An item that left a folder and did not arrive in the other one.
  for (const f of FOLDERS)
    for (const c of changes.get(f)!) {
      if (c.kind !== 'Delete') continue;
      const identity = await shadows.identityOf(mailboxId, c.ref.itemId);
      if (!identity || arrived.has(`<${identity}>`)) continue;
      const [found] = await client.findAll(address, `<${identity}>`, FOLDERS, signal);
      if (found) continue; // Seen in its folder's next round.
      const view: ExchangeView =
        f === 'inbox' ? { place: 'elsewhere', isRead: true, flagged: false } : { place: 'gone' };
      if (await shadows.follow(mailboxId, c.ref.itemId, view)) followed++;
    }
  await advanceSyncState(store, mailboxId, shadows, JSON.stringify({ ews: states }));
  return followed;
}

function syncStates(saved: string | null): Partial<Record<Folder, string | null>> {
  try {
    const parsed = JSON.parse(saved ?? '') as { ews?: Partial<Record<Folder, string | null>> };
    return parsed.ews ?? {};
  } catch {
    return {}; // None yet, or a Graph delta link from before the connection changed.
  }
}

function identityIn(el: Element): string {
  for (const p of Array.from(el.getElementsByTagNameNS(NS.t, 'ExtendedProperty')) as Element[]) {
    const uri = p.getElementsByTagNameNS(NS.t, 'ExtendedFieldURI')[0] as Element | undefined;
    if (Number(uri?.getAttribute('PropertyTag')) === INTERNET_MESSAGE_ID)
      return text((p.getElementsByTagNameNS(NS.t, 'Value')[0] as Element | undefined) ?? null);
  }
  return '';
}

/** Every change of a folder since `state` (all pages); an expired state starts over. */
async function folderChanges(
  client: EwsClient,
  address: string,
  f: Folder,
  state: string | null,
  signal?: AbortSignal,
): Promise<{ changes: Change[]; state: string }> {
  const changes: Change[] = [];
  for (;;) {
    let msg: Element;
    try {
      msg = await client.call(
        'SyncFolderItems',
        address,
        `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>` +
          `<t:FieldURI FieldURI="item:ParentFolderId"/><t:FieldURI FieldURI="message:IsRead"/>` +
          `<t:FieldURI FieldURI="item:Flag"/>` +
          `<t:ExtendedFieldURI PropertyTag="0x${INTERNET_MESSAGE_ID.toString(16)}" PropertyType="String"/>` +
          `</t:AdditionalProperties></m:ItemShape><m:SyncFolderId>${folder(f, address)}</m:SyncFolderId>` +
          (state ? `<m:SyncState>${xml(state)}</m:SyncState>` : '') +
          `<m:MaxChangesReturned>512</m:MaxChangesReturned><m:SyncScope>NormalItems</m:SyncScope></m:SyncFolderItems>`,
        signal,
      );
    } catch (err) {
      if (err instanceof EwsError && err.code === 'ErrorInvalidSyncStateData' && state) {
        state = null;
        changes.length = 0;
        continue;
      }
      throw err;
    }
    const container = msg.getElementsByTagNameNS(NS.m, 'Changes')[0] as Element | undefined;
    for (const el of Array.from(container?.childNodes ?? []) as Element[]) {
      if (el.nodeType !== 1 || el.namespaceURI !== NS.t) continue;
      const id = el.getElementsByTagNameNS(NS.t, 'ItemId')[0] as Element | undefined;
      if (!id) continue;
      changes.push({
        kind: el.localName as Change['kind'],
        ref: { itemId: id.getAttribute('Id') ?? '', changeKey: id.getAttribute('ChangeKey') },
        el,
      });
    }
    state = text((msg.getElementsByTagNameNS(NS.m, 'SyncState')[0] as Element | undefined) ?? null);
    const last = msg.getElementsByTagNameNS(NS.m, 'IncludesLastItemInRange')[0] as
      Element | undefined;
    if (text(last ?? null) !== 'false') return { changes, state };
  }
}
