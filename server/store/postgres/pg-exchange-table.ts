import type { ExchangeItemRef, MailboxHome, MailboxHomeKind } from '../../domain/exchange.ts';
import { LOCAL_HOME } from '../../domain/exchange.ts';
import type { Message } from '../../domain/message.ts';
import type { ExchangeStore } from '../../domain/ports.ts';
import { rowToMessage, type MessageRow } from '../rows.ts';
import type { PgAccess } from './pg-access.ts';

interface HomeRow {
  mailbox_id: number;
  home: string;
  exchange_address: string | null;
  exchange_connection: string | null;
}

function rowToHome(r: HomeRow): MailboxHome {
  return {
    home: r.home as MailboxHomeKind,
    exchangeAddress: r.exchange_address,
    exchangeConnection: r.exchange_connection,
  };
}

/** Mailbox homes and the Exchange shadow (migration 3), as the embedded exchange-table.ts. */
export class PgExchangeTable implements ExchangeStore {
  readonly #db: PgAccess;
  constructor(db: PgAccess) {
    this.#db = db;
  }

  async getMailboxHome(mailboxId: number): Promise<MailboxHome> {
    const row = await this.#db.sql.row<HomeRow>(
      'SELECT * FROM mailbox_home WHERE mailbox_id = $1',
      [mailboxId],
    );
    return row ? rowToHome(row) : LOCAL_HOME;
  }

  async setMailboxHome(mailboxId: number, home: MailboxHome): Promise<void> {
    await this.#db.tx(async (t) => {
      // The mailbox's lock first, as every change of it; a mailbox gone changes nothing.
      const box = await t.row('SELECT id FROM mailbox WHERE id = $1 FOR UPDATE', [mailboxId]);
      if (!box) return;
      // The sync state belongs to one Exchange mailbox: a new address or connection starts over.
      await t.rows(
        `INSERT INTO mailbox_home (mailbox_id, home, exchange_address, exchange_connection)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (mailbox_id) DO UPDATE SET home = $2, exchange_address = $3,
           exchange_connection = $4,
           sync_state = CASE WHEN mailbox_home.home = $2
               AND mailbox_home.exchange_address IS NOT DISTINCT FROM $3
               AND mailbox_home.exchange_connection IS NOT DISTINCT FROM $4
             THEN mailbox_home.sync_state ELSE NULL END`,
        [mailboxId, home.home, home.exchangeAddress, home.exchangeConnection],
      );
      await this.#db.journal(t, mailboxId, 'mailbox', null, null, Date.now());
    });
  }

  async listExchangeHomes(): Promise<{ mailboxId: number; home: MailboxHome }[]> {
    const rows = await this.#db.sql.rows<HomeRow>(
      "SELECT * FROM mailbox_home WHERE home = 'exchange' ORDER BY mailbox_id",
    );
    return rows.map((r) => ({ mailboxId: r.mailbox_id, home: rowToHome(r) }));
  }

  async setExchangeItem(messageId: string, item: ExchangeItemRef): Promise<void> {
    await this.#db.sql.rows(
      `INSERT INTO exchange_item (message_id, mailbox_id, item_id, change_key)
       SELECT id, mailbox_id, $2, $3 FROM message WHERE id = $1
       ON CONFLICT (message_id) DO UPDATE SET item_id = $2, change_key = $3`,
      [messageId, item.itemId, item.changeKey],
    );
  }

  async getExchangeItem(messageId: string): Promise<ExchangeItemRef | null> {
    const row = await this.#db.sql.row<{ item_id: string; change_key: string | null }>(
      'SELECT item_id, change_key FROM exchange_item WHERE message_id = $1',
      [messageId],
    );
    return row ? { itemId: row.item_id, changeKey: row.change_key } : null;
  }

  async findMessageByExchangeItem(mailboxId: number, itemId: string): Promise<Message | null> {
    const row = await this.#db.sql.row<MessageRow>(
      `SELECT message.* FROM exchange_item JOIN message ON message.id = exchange_item.message_id
       WHERE exchange_item.mailbox_id = $1 AND exchange_item.item_id = $2`,
      [mailboxId, itemId],
    );
    return row ? rowToMessage(row) : null;
  }

  async getExchangeSyncState(mailboxId: number): Promise<string | null> {
    const row = await this.#db.sql.row<{ sync_state: string | null }>(
      'SELECT sync_state FROM mailbox_home WHERE mailbox_id = $1',
      [mailboxId],
    );
    return row?.sync_state ?? null;
  }

  async setExchangeSyncState(mailboxId: number, state: string | null): Promise<void> {
    await this.#db.sql.rows('UPDATE mailbox_home SET sync_state = $1 WHERE mailbox_id = $2', [
      state,
      mailboxId,
    ]);
  }
}
