import type { ExchangeItemRef, MailboxHome, MailboxHomeKind } from '../domain/exchange.ts';
import { LOCAL_HOME } from '../domain/exchange.ts';
import type { Message } from '../domain/message.ts';
import type { ExchangeStore } from '../domain/ports.ts';
import type { SqlAccess } from './sql-access.ts';
import { rowToMessage, type MessageRow } from './rows.ts';

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

/** Mailbox homes and the Exchange shadow (migration 8). */
export class ExchangeTable implements ExchangeStore {
  readonly #db: SqlAccess;
  constructor(db: SqlAccess) {
    this.#db = db;
  }

  async getMailboxHome(mailboxId: number): Promise<MailboxHome> {
    const row = this.#db.sql('SELECT * FROM mailbox_home WHERE mailbox_id = ?').get(mailboxId) as
      HomeRow | undefined;
    return row ? rowToHome(row) : LOCAL_HOME;
  }

  async setMailboxHome(mailboxId: number, home: MailboxHome): Promise<void> {
    this.#db.tx(() => {
      // The sync state belongs to one Exchange mailbox: a new address or connection starts over.
      this.#db
        .sql(
          `INSERT INTO mailbox_home (mailbox_id, home, exchange_address, exchange_connection)
           SELECT id, ?2, ?3, ?4 FROM mailbox WHERE id = ?1
           ON CONFLICT (mailbox_id) DO UPDATE SET home = ?2, exchange_address = ?3,
             exchange_connection = ?4,
             sync_state = CASE WHEN home = ?2 AND exchange_address IS ?3 AND exchange_connection IS ?4
               THEN sync_state ELSE NULL END`,
        )
        .run(mailboxId, home.home, home.exchangeAddress, home.exchangeConnection);
      this.#db.journal(mailboxId, 'mailbox', null, null, Date.now());
    });
  }

  async listExchangeHomes(): Promise<{ mailboxId: number; home: MailboxHome }[]> {
    const rows = this.#db
      .sql("SELECT * FROM mailbox_home WHERE home = 'exchange' ORDER BY mailbox_id")
      .all() as unknown as HomeRow[];
    return rows.map((r) => ({ mailboxId: r.mailbox_id, home: rowToHome(r) }));
  }

  async setExchangeItem(messageId: string, item: ExchangeItemRef): Promise<void> {
    this.#db.tx(() =>
      this.#db
        .sql(
          `INSERT INTO exchange_item (message_id, mailbox_id, item_id, change_key)
           SELECT id, mailbox_id, ?2, ?3 FROM message WHERE id = ?1
           ON CONFLICT (message_id) DO UPDATE SET item_id = ?2, change_key = ?3`,
        )
        .run(messageId, item.itemId, item.changeKey),
    );
  }

  async getExchangeItem(messageId: string): Promise<ExchangeItemRef | null> {
    const row = this.#db
      .sql('SELECT item_id, change_key FROM exchange_item WHERE message_id = ?')
      .get(messageId) as { item_id: string; change_key: string | null } | undefined;
    return row ? { itemId: row.item_id, changeKey: row.change_key } : null;
  }

  async findMessageByExchangeItem(mailboxId: number, itemId: string): Promise<Message | null> {
    const row = this.#db
      .sql(
        `SELECT message.* FROM exchange_item JOIN message ON message.id = exchange_item.message_id
         WHERE exchange_item.mailbox_id = ? AND exchange_item.item_id = ?`,
      )
      .get(mailboxId, itemId) as unknown as MessageRow | undefined;
    return row ? rowToMessage(row) : null;
  }

  async getExchangeSyncState(mailboxId: number): Promise<string | null> {
    const row = this.#db
      .sql('SELECT sync_state FROM mailbox_home WHERE mailbox_id = ?')
      .get(mailboxId) as { sync_state: string | null } | undefined;
    return row?.sync_state ?? null;
  }

  async setExchangeSyncState(mailboxId: number, state: string | null): Promise<void> {
    this.#db.tx(() =>
      this.#db
        .sql('UPDATE mailbox_home SET sync_state = ? WHERE mailbox_id = ?')
        .run(state, mailboxId),
    );
  }
}
