// Mailboxes that had the old e-mail mode "exchange" reach their home with no connection (the
// store's migration cannot read the config): start-up gives them the only one configured, or
// says in the log which ones need --exchange-connection, and their voicemail stays here.
import { monotonicFactory } from 'ulid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DomainDeps } from '../../server/domain/deps.ts';
import type { ExchangeConnectionRef } from '../../server/domain/exchange.ts';
import { MailboxHomeService } from '../../server/domain/home-service.ts';
import { MailboxService } from '../../server/domain/mailbox-service.ts';
import { MessageService } from '../../server/domain/message-service.ts';
import { DEFAULT_POLICY } from '../../server/domain/policy.ts';
import { toneWav } from '../../server/media/tone.ts';
import { inspectWav } from '../../server/media/wav.ts';
import { tempContext } from '../helpers/temp-context.ts';

let ctx: Awaited<ReturnType<typeof tempContext>>;
beforeEach(async () => {
  ctx = await tempContext();
});
afterEach(async () => {
  await ctx.cleanup();
});

/** The services over the real store, with these connections configured and a log to read. */
function services(connections: ExchangeConnectionRef[]) {
  const warnings: { obj: object; msg: string }[] = [];
  const deps: DomainDeps = {
    store: ctx.store,
    audio: ctx.audio,
    inspectAudio: inspectWav,
    policy: { ...DEFAULT_POLICY, minMessageSeconds: 1 },
    housekeeping: {
      deleteAfterHours: { new: 0, unopened: 0, old: 0, saved: 0 },
      purgeDeletedAfterHours: 48,
    },
    playbackOrder: 'fifo',
    serverName: 'test-server',
    newVoicemailId: monotonicFactory(),
    defaults: { locale: 'en-US', timeZone: 'UTC' },
    log: { info() {}, warn: (obj, msg) => warnings.push({ obj, msg }) },
    scryptCost: { N: 1024, r: 8, p: 1 },
    exchangeConnections: connections,
  };
  const mailboxes = new MailboxService(deps);
  return {
    mailboxes,
    homes: new MailboxHomeService(deps, mailboxes),
    messages: new MessageService(deps, mailboxes),
    warnings,
  };
}

/** Erin, as the store's migration leaves a mailbox that had the old mode. */
async function migratedErin(): Promise<number> {
  const erin = await ctx.mailboxes.add({ name: 'erin', extension: '240' }, '1234');
  await ctx.store.setMailboxHome(erin.id, {
    home: 'exchange',
    exchangeAddress: 'erin@contoso.example',
    exchangeConnection: null,
  });
  return erin.id;
}

describe('mailboxes at home in Exchange without a connection', () => {
  it('are given the only connection configured at start-up', async () => {
    const id = await migratedErin();
    const { homes, warnings } = services([{ name: 'online', kind: 'graph' }]);
    expect(await homes.completeConnections()).toEqual({ given: ['erin'], waiting: [] });
    expect(await ctx.store.getMailboxHome(id)).toEqual({
      home: 'exchange',
      exchangeAddress: 'erin@contoso.example',
      exchangeConnection: 'online',
    });
    expect(warnings).toEqual([]);
    expect(await homes.completeConnections()).toEqual({ given: [], waiting: [] });
  });

  it('with several connections, are named in the log and keep their voicemail here', async () => {
    const id = await migratedErin();
    const { homes, messages, warnings, mailboxes } = services([
      { name: 'online', kind: 'graph' },
      { name: 'onprem', kind: 'ews' },
    ]);
    expect(await homes.completeConnections()).toEqual({ given: [], waiting: ['erin'] });
    expect(warnings[0]).toMatchObject({
      obj: { mailboxes: ['erin'] },
      msg: expect.stringContaining('--exchange-connection online|onprem'),
    });
    expect((await ctx.store.getMailboxHome(id)).exchangeConnection).toBeNull();

    await messages.deposit({
      mailbox: 'erin',
      callerNumber: '+15550100',
      audio: toneWav({ seconds: 1 }),
    });
    expect(await ctx.store.listDeliveries()).toEqual([]);
    expect(warnings.at(-1)?.msg).toMatch(/no connection named .*--exchange-connection/);
    expect(await ctx.store.listMessages(id, { states: ['new'] })).toHaveLength(1);

    // The administrator names one; the address stays.
    await homes.setHome(await mailboxes.resolve('erin'), { exchangeConnection: 'onprem' });
    expect(await ctx.store.getMailboxHome(id)).toMatchObject({
      exchangeAddress: 'erin@contoso.example',
      exchangeConnection: 'onprem',
    });
  });
});
