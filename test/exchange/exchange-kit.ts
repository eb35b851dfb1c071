/**
 * What the Exchange tests share, whatever the protocol: a Voicegate whose mailbox `alice` is at
 * home in a fake Exchange, a voicemail left there, and the phone's actions checked on the item.
 */
import type { MessageAction } from '../../server/domain/message-state.ts';
import type { Message } from '../../server/domain/message.ts';
import { toneWav } from '../../server/media/tone.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { until } from '../mail/mail-helpers.ts';

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
