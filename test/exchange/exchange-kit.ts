/**
 * What the Exchange tests share, whatever the protocol: a Voicegate whose mailbox `alice` is at
 * home in a fake Exchange, a voicemail left there, and the phone's actions checked on the item.
 */
import type { MessageAction } from '../../server/domain/message-state.ts';
import type { Message } from '../../server/domain/message.ts';
import { toneWav } from '../../server/media/tone.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { until } from '../mail/mail-helpers.ts';
import { EwsServer } from '../support/ews-server.ts';
import { GraphServer } from '../support/graph-server.ts';
import type { HeldAnswer } from '../support/held-answer.ts';

export const ALICE = 'alice@contoso.example';

/** A Voicegate reading Exchange back every second, with mailbox alice (201, code 1234) at home there. */
export async function exchangeVoicegate(
  connection: Record<string, unknown>,
  sets: string[] = [],
): Promise<TestServer> {
  const vg = await startTestServer([
    `exchange.connections=${JSON.stringify([connection])}`,
    'exchange.syncSeconds=1',
    ...sets,
  ]);
  await vg.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  await vg.context.homes.setHome('alice', { home: 'exchange', exchangeAddress: ALICE });
  return vg;
}

/** A voicemail left for alice. */
export async function leaveVoicemail(vg: TestServer, seconds = 1): Promise<Message> {
  const [m] = await vg.context.messages.deposit({
    mailbox: 'alice',
    audio: toneWav({ seconds }),
    callerNumber: '5550133',
  });
  return m!;
}

/** Nothing left in the delivery queue (write-backs included). */
export const queueEmpty = (vg: TestServer) =>
  until(async () => (await vg.context.deliveries.list()).length === 0, 5000, 'an empty queue');

/**
 * Each action, made as the phone makes it, shows on the item within 5 s as `shows` reads it
 * (`folder read|unread flag`).
 */
export async function actionsReachItem(
  vg: TestServer,
  message: Pick<Message, 'id' | 'mailboxId'>,
  shows: () => string | Promise<string>,
  steps: readonly (readonly [MessageAction, string])[],
): Promise<void> {
  for (const [action, wanted] of steps) {
    await vg.context.messages.act(message.mailboxId, message.id, action);
    await until(
      async () => (await shows()) === wanted,
      5000,
      `${action}: the item shows ${wanted}`,
    );
  }
}

/** Two read-back rounds (syncSeconds=1): what must not happen has had its chance. */
export const twoReadBackRounds = () => new Promise((r) => setTimeout(r, 2500));

/** Exchange Online (Graph) or Exchange Server (EWS). */
export type ExchangeKind = 'graph' | 'ews';
export const EXCHANGE_KINDS: readonly ExchangeKind[] = ['graph', 'ews'];

/** The test server of either kind, with alice's mailbox, as the Exchange tests drive it. */
export interface FakeExchange {
  kind: ExchangeKind;
  server: GraphServer | EwsServer;
  /** The connection to put in `exchange.connections`. */
  connection(): Record<string, unknown>;
  /**
   * The item of a voicemail of `vg` as Outlook shows it, whatever its id now (EWS gives a moved
   * item a new one): `folder read|unread notFlagged|flagged|complete`, or `gone`.
   */
  shows(vg: TestServer, messageId: string): Promise<string>;
  /** The user flags the voicemail's item in Outlook. */
  flag(vg: TestServer, messageId: string): Promise<void>;
  /** The user moves the voicemail's item back to the Inbox in Outlook. */
  moveToInbox(vg: TestServer, messageId: string): Promise<void>;
  /** The next read of the Inbox's changes (delta, SyncFolderItems) that has the voicemail's item is answered late. */
  holdNextRead(vg: TestServer, messageId: string): Promise<HeldAnswer>;
  /** The reads of the Inbox's changes seen so far: one per read-back round. */
  reads(): number;
  close(): Promise<void>;
}

export async function fakeExchange(kind: ExchangeKind): Promise<FakeExchange> {
  const itemId = async (vg: TestServer, messageId: string) =>
    (await vg.context.store.getExchangeItem(messageId))?.itemId;
  if (kind === 'graph') {
    const graph = await GraphServer.start({ users: [ALICE] });
    const item = async (vg: TestServer, messageId: string) => {
      const id = await itemId(vg, messageId);
      return graph.messages(ALICE).find((m) => m.id === id);
    };
    return {
      kind,
      server: graph,
      connection: () => graph.connection(),
      shows: async (vg, messageId) => {
        const m = await item(vg, messageId);
        return m ? `${m.folder} ${m.isRead ? 'read' : 'unread'} ${m.flagStatus}` : 'gone';
      },
      flag: async (vg, messageId) =>
        graph.setFlag(ALICE, (await item(vg, messageId))!.id, 'flagged'),
      moveToInbox: async (vg, messageId) =>
        graph.move(ALICE, (await item(vg, messageId))!.id, 'inbox'),
      holdNextRead: async (vg, messageId) => graph.holdNextDelta((await itemId(vg, messageId))!),
      reads: () => graph.deltaQueries,
      close: () => graph.close(),
    };
  }
  const ews = await EwsServer.start([ALICE]);
  const item = async (vg: TestServer, messageId: string) => {
    const id = await itemId(vg, messageId);
    return ews.items(ALICE).find((i) => i.itemId === id);
  };
  return {
    kind,
    server: ews,
    connection: () => ews.connection(),
    shows: async (vg, messageId) => {
      const i = await item(vg, messageId);
      if (!i) return 'gone';
      const flag = i.flag === 'NotFlagged' ? 'notFlagged' : i.flag.toLowerCase();
      return `${i.folder} ${i.isRead ? 'read' : 'unread'} ${flag}`;
    },
    flag: async (vg, messageId) => ews.setFlag((await item(vg, messageId))!.itemId, 'Flagged'),
    moveToInbox: async (vg, messageId) => {
      ews.move((await item(vg, messageId))!.itemId, 'inbox');
    },
    holdNextRead: async (vg, messageId) => ews.holdNextInboxSync((await itemId(vg, messageId))!),
    reads: () => ews.inboxSyncs,
    close: () => ews.close(),
  };
}
