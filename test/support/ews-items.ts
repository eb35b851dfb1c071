/**
 * The EWS test server's mailboxes: their items, what a user does to them in Outlook, and the
 * change counter that sync states count. The operations the server answers on them are
 * `ews-item-ops.ts` (create, get, update, move, delete) and `ews-find-sync.ts` (FindItem,
 * SyncFolderItems). More lenient than Exchange: no XSD validation beyond the elements read,
 * ItemIds are random strings rather than store entry ids, and a sync state is a change counter.
 */
import { randomBytes } from 'node:crypto';
import type { Element } from '@xmldom/xmldom';
import { first, kids, NS, txt } from './ews-wire.ts';

export type EwsFolder = 'inbox' | 'deleteditems' | 'archive';

export interface EwsItem {
  itemId: string;
  changeKey: string;
  folder: EwsFolder;
  itemClass: string;
  subject: string;
  body: string;
  isRead: boolean;
  flag: 'NotFlagged' | 'Flagged' | 'Complete';
  /** Extended properties by `0xTAG` (upper-case hex). */
  props: Map<string, string>;
  attachments: { name: string; contentType: string; bytes: Buffer; isInline?: boolean }[];
  /** An e-mail received (`receive`): its sender, when sent and received, its body's type. */
  mail?: {
    from: { name: string; address: string };
    sentAt: number;
    receivedAt: number;
    html: boolean;
  };
  /** The change counter when it came into its folder, and when it last changed. */
  arrived: number;
  version: number;
}

export const FOLDER_IDS: Record<EwsFolder, string> = {
  inbox: 'AQMkADAwATM0MDAAMS1iNTcwLWI2NTEtMDACLTAwCgAuAAADInbox',
  deleteditems: 'AQMkADAwATM0MDAAMS1iNTcwLWI2NTEtMDACLTAwCgAuAAADTrash',
  archive: 'AQMkADAwATM0MDAAMS1iNTcwLWI2NTEtMDACLTAwCgAuAAADArchive',
};
export const newId = () => `AAMkAD${randomBytes(24).toString('base64')}`;
export const newKey = () => `CQAAABYA${randomBytes(9).toString('base64')}`;

export class EwsMailboxes {
  readonly mailboxes = new Map<string, EwsItem[]>();
  /** Rises with every change: what sync states count. */
  #seq = 0;
  /** Items that left a folder (moved out or deleted): their old id, when. */
  readonly #left = new Map<string, { folder: EwsFolder; itemId: string; at: number }[]>();

  items(address: string): EwsItem[] {
    return this.mailboxes.get(address.toLowerCase()) ?? [];
  }

  /** The items that left a folder of the mailbox: SyncFolderItems' Deletes. */
  leftOf(address: string) {
    let left = this.#left.get(address.toLowerCase());
    if (!left) this.#left.set(address.toLowerCase(), (left = []));
    return left;
  }

  /** The item an ItemId names, in whichever mailbox holds it. */
  find(itemId: string): { address: string; box: EwsItem[]; item: EwsItem } | null {
    for (const [address, box] of this.mailboxes) {
      const item = box.find((i) => i.itemId === itemId);
      if (item) return { address, box, item };
    }
    return null;
  }

  /** The change counter's last value. */
  get seq(): number {
    return this.#seq;
  }

  /** Counts a change: its number. */
  nextSeq(): number {
    return ++this.#seq;
  }

  /** A change to an item: a new version and ChangeKey. */
  touch(item: EwsItem): void {
    item.version = ++this.#seq;
    item.changeKey = newKey();
  }

  /** What a user does in Outlook: read or unread, flag, move (a new ItemId), delete for good. */
  setRead(itemId: string, isRead: boolean): void {
    const item = this.find(itemId)!.item;
    item.isRead = isRead;
    this.touch(item);
  }

  setFlag(itemId: string, flag: EwsItem['flag']): void {
    const item = this.find(itemId)!.item;
    item.flag = flag;
    this.touch(item);
  }

  /** Moves an item; like Exchange, it then has a new ItemId (returned). */
  move(itemId: string, folder: EwsFolder): string {
    const { address, item } = this.find(itemId)!;
    this.leftOf(address).push({ folder: item.folder, itemId, at: ++this.#seq });
    item.folder = folder;
    item.itemId = newId();
    this.touch(item);
    item.arrived = item.version;
    return item.itemId;
  }

  /** An e-mail that arrives in the user's Inbox (what a sender's mail server would bring). */
  receive(
    address: string,
    e: {
      subject: string;
      from: { name: string; address: string };
      body: string;
      html: boolean;
      receivedAt: Date;
      attachments?: EwsItem['attachments'];
      itemClass?: string;
    },
  ): EwsItem {
    const version = ++this.#seq;
    const item: EwsItem = {
      itemId: newId(),
      changeKey: newKey(),
      folder: 'inbox',
      itemClass: e.itemClass ?? 'IPM.Note',
      subject: e.subject,
      body: e.body,
      isRead: false,
      flag: 'NotFlagged',
      props: new Map(),
      attachments: e.attachments ?? [],
      mail: {
        from: e.from,
        sentAt: e.receivedAt.getTime() - 60_000,
        receivedAt: e.receivedAt.getTime(),
        html: e.html,
      },
      arrived: version,
      version,
    };
    this.items(address).push(item);
    return item;
  }

  purge(itemId: string): void {
    const { address, box, item } = this.find(itemId)!;
    box.splice(box.indexOf(item), 1);
    this.leftOf(address).push({ folder: item.folder, itemId, at: ++this.#seq });
  }

  /** The mailbox a folder element names (its Mailbox, else the impersonated user). */
  #mailbox(df: Element | null, impersonating: string | null): string | null {
    const address = txt(df && first(df, NS.t, 'EmailAddress')).toLowerCase() || impersonating;
    return address && this.mailboxes.has(address) ? address : null;
  }

  /** The folders named by DistinguishedFolderIds under `el`, and their mailbox. */
  folders(el: Element, impersonating: string | null) {
    const named = kids(el, NS.t, 'DistinguishedFolderId');
    const address = named.length ? this.#mailbox(named[0]!, impersonating) : null;
    const folders = named.map((f) => f.getAttribute('Id') as EwsFolder);
    if (!address || folders.some((f) => !(f in FOLDER_IDS))) return null;
    return { address, folders };
  }
}
