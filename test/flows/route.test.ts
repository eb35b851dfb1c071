import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallInfo } from '../../server/flows/call.ts';
import { route, type RouteContext } from '../../server/flows/route.ts';
import { parseFlows } from '../../server/flows/validate.ts';
import { tempContext } from '../helpers/temp-context.ts';

let ctx: Awaited<ReturnType<typeof tempContext>>;
let rctx: RouteContext;
beforeAll(async () => {
  ctx = await tempContext();
  await ctx.mailboxes.add(
    { name: 'alice', extension: '201', locale: 'fr-CA', trustedNumbers: ['+15550001'] },
    '1234',
  );
  await ctx.mailboxes.add({ name: 'bob', extension: '202' }, '1234');
  await ctx.mailboxes.add({ kind: 'group', name: 'sales', extension: '300' }, '1234');
  const { book, errors } = parseFlows(`
flows:
  attendant:
    numbers: ['5000']
    steps: [{ hangup: goodbye }]
  sales-line:
    mailboxes: [sales]
    language: es
    steps: [{ leave-message: '\${mailbox}' }]
`);
  expect(errors).toEqual([]);
  rctx = {
    flows: book!,
    mailboxes: ctx.mailboxes,
    accessNumbers: ['800'],
    defaultLanguage: 'en-US',
  };
});
afterAll(() => ctx.cleanup());

const call = (over: Partial<CallInfo>): CallInfo => ({
  callId: 'c1',
  callerNumber: '5559999',
  callerName: null,
  dialled: '201',
  forwardedFrom: null,
  forwardReason: null,
  language: null,
  remote: '127.0.0.1:5060',
  ...over,
});

async function where(over: Partial<CallInfo>) {
  const r = await route(call(over), rctx);
  if (r.kind === 'not-found') return r;
  return {
    flow: r.flow.name,
    reason: r.reason,
    mailbox: r.mailbox,
    language: r.language,
    trusted: r.vars.trusted,
  };
}

describe('route', () => {
  it('a flow start number runs that flow', async () => {
    expect(await where({ dialled: '5000' })).toMatchObject({
      flow: 'attendant',
      reason: 'flow-number',
      mailbox: null,
    });
  });

  it('an access number collects messages asking for mailbox and code', async () => {
    expect(await where({ dialled: '800', callerNumber: '201' })).toMatchObject({
      flow: 'builtin-collect-messages',
      reason: 'access-number',
      mailbox: null,
      trusted: 'no',
    });
  });

  it('a forwarded call leaves a message for the mailbox it was forwarded from, even from its owner', async () => {
    expect(
      await where({ dialled: '899', forwardedFrom: '202', callerNumber: '202' }),
    ).toMatchObject({
      flow: 'builtin-leave-message',
      reason: 'forwarded',
      mailbox: 'bob',
      trusted: 'no',
    });
  });

  it('the owner (own extension or a trusted number) vouched for collects without a code; others leave a message', async () => {
    expect(await where({ callerNumber: '201', vouchedBy: 'peer' })).toMatchObject({
      flow: 'builtin-collect-messages',
      trusted: 'yes',
      mailbox: 'alice',
    });
    expect(await where({ callerNumber: '201', vouchedBy: 'digest' })).toMatchObject({
      trusted: 'yes',
    });
    expect(await where({ callerNumber: '+15550001', vouchedBy: 'peer' })).toMatchObject({
      reason: 'own-mailbox',
      trusted: 'yes',
    });
    expect(await where({ callerNumber: '202' })).toMatchObject({
      flow: 'builtin-leave-message',
      mailbox: 'alice',
    });
    expect(await where({ callerNumber: null })).toMatchObject({ flow: 'builtin-leave-message' });
  });

  it('caller ID nobody vouches for is only a claim: the code is asked', async () => {
    for (const info of [
      { callerNumber: '201' },
      // A trusted number is only as good as the PBX asserting it, never a phone's digest.
      { callerNumber: '+15550001' },
      { callerNumber: '+15550001', vouchedBy: 'digest' as const },
    ])
      expect(await where(info)).toMatchObject({
        flow: 'builtin-collect-messages',
        reason: 'own-mailbox',
        mailbox: 'alice',
        trusted: 'no',
      });
  });

  it('a flow configured for a mailbox or group replaces the built-in leave-message', async () => {
    expect(await where({ dialled: '300' })).toMatchObject({
      flow: 'sales-line',
      mailbox: 'sales',
      language: 'es',
    });
    expect(await where({ dialled: '999', forwardedFrom: 'sales' })).toMatchObject({
      flow: 'sales-line',
      reason: 'forwarded',
    });
  });

  it('language: the call first, then the mailbox, then the default', async () => {
    expect(await where({ language: 'de-de,de;q=0.8' })).toMatchObject({ language: 'de-DE' });
    expect(await where({})).toMatchObject({ language: 'fr-CA' });
    expect(await where({ dialled: '800' })).toMatchObject({ language: 'en-US' });
  });

  it('an unknown number is a clear not-found', async () => {
    expect(await where({ dialled: '777' })).toEqual({
      kind: 'not-found',
      reason: 'no mailbox or flow for 777',
    });
  });
});
