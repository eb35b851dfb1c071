/**
 * A call resolves its mailbox once, when routing finds it, and carries the record through the
 * flow: the greeting, the deposit, the owner's menus and a flow's steps naming `${mailbox}` do
 * not look it up again. Counted at the store, below every service.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VoicemailStore } from '../../../server/domain/ports.ts';
import { BUILTIN_FLOWS } from '../../../server/flows/builtin.ts';
import type { CallInfo } from '../../../server/flows/call.ts';
import { runFlow } from '../../../server/flows/engine.ts';
import type { FlowBook } from '../../../server/flows/flow.ts';
import { route } from '../../../server/flows/route.ts';
import { parseFlows } from '../../../server/flows/validate.ts';
import { FakeCall, type Cue, type Take } from './fake-call.ts';
import { flowKit, type FlowKit } from './flow-kit.ts';

const LOOKUPS = new Set(['findMailbox', 'getMailbox', 'listMailboxes']);
let lookups: string[] = [];

function counting(store: VoicemailStore): VoicemailStore {
  return new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (LOOKUPS.has(String(name))) lookups.push(`${String(name)}(${args.join(',')})`);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

let k: FlowKit;
beforeEach(async () => {
  k = await flowKit({ wrapStore: counting });
  await k.mailbox({ activeGreeting: 'unavailable', email: 'bea@example.com', emailMode: 'copy' });
  await k.messages.setGreeting('201', 'unavailable', k.wav(1.5));
  await k.messages.setGreeting('201', 'busy', k.wav(1.2));
  await k.messages.setGreeting('201', 'name', k.wav(0.9));
});
afterEach(async () => k.cleanup());

const builtins = (): FlowBook => ({
  flows: new Map(BUILTIN_FLOWS),
  byNumber: new Map(),
  source: null,
});

/** One call as the phone part runs it: routing, then the flow with what routing resolved. */
async function call(
  info: Partial<CallInfo>,
  script: { cues?: Cue[]; takes?: Take[] } = {},
  book = builtins(),
) {
  const c = new FakeCall({ ...script, info });
  lookups = [];
  const target = await route(c.info, {
    flows: book,
    mailboxes: k.mailboxes,
    accessNumbers: ['800'],
    defaultLanguage: 'en',
  });
  if (target.kind === 'not-found') throw new Error(target.reason);
  await runFlow(c, target.flow, { ...k.deps, timeZone: 'UTC' }, target.vars, target.record);
  return { played: c.played, lookups: [...lookups] };
}

async function inbox() {
  const m = await k.ctx.store.findMailbox('201');
  return k.messages.list(m!.id);
}

describe('a call looks its mailbox up once', () => {
  it('leaving a message: greeting, recording, deposit and its e-mail copy', async () => {
    const r = await call({ dialled: '201' }, { takes: [{ seconds: 3, endedBy: 'hangup' }] });
    expect(r.played.slice(0, 2)).toEqual(['audio:1500', 'tone']);
    expect(await inbox()).toHaveLength(1);
    expect(await k.ctx.deliveries.list()).toHaveLength(1);
    expect(r.lookups).toEqual(['findMailbox(201)']);
  });

  it('a call forwarded on busy hears the busy greeting, with one look-up', async () => {
    const r = await call(
      { dialled: '5000', forwardedFrom: '201', forwardReason: 'user-busy' },
      { takes: [{ seconds: 3, endedBy: 'hangup' }] },
    );
    expect(r.played[0]).toBe('audio:1200');
    expect(await inbox()).toHaveLength(1);
    expect(r.lookups).toEqual(['findMailbox(201)']);
  });

  it("the owner's own phone, vouched for: summary and a message heard, no code", async () => {
    await k.deposit('201', 1.5);
    const r = await call(
      { dialled: '201', callerNumber: '201', vouchedBy: 'peer' },
      { cues: [{ keys: '1' }] },
    );
    expect(r.played.slice(0, 3)).toEqual(['you-have', 'one', 'new-message']);
    expect((await inbox())[0]!.state).not.toBe('new');
    expect(r.lookups).toEqual(['findMailbox(201)']);
  });

  it('the owner with a code: routing, then the log-in reads the mailbox afresh', async () => {
    await k.deposit('201', 1.5);
    const r = await call({ dialled: '201', callerNumber: '201' }, { cues: [{ keys: '1234#' }] });
    expect(r.played.slice(0, 2)).toEqual(['enter-code', 'you-have']);
    expect(r.lookups).toEqual(['findMailbox(201)', 'findMailbox(201)']);
  });

  it("a configured flow's steps naming ${mailbox}: greeting, leave-message, e-mail", async () => {
    const { book, errors } = parseFlows(`
flows:
  bea:
    mailboxes: ['201']
    steps:
      - play: { greeting: '\${mailbox}' }
      - voice-question: { prompt: thank-you, into: q, maxSeconds: 5 }
      - email: { recording: q }
      - leave-message: '\${mailbox}'
`);
    expect(errors).toEqual([]);
    const r = await call(
      { dialled: '201' },
      {
        takes: [
          { seconds: 2, endedBy: 'silence' },
          { seconds: 3, endedBy: 'hangup' },
        ],
      },
      book!,
    );
    expect(r.played[0]).toBe('audio:1500');
    expect(await inbox()).toHaveLength(1);
    expect(r.lookups).toEqual(['findMailbox(201)']);
  });

  it("a flow's greeting step plays what leave-message would: busy on a busy-forwarded call", async () => {
    const { book } = parseFlows(`
flows:
  bea:
    mailboxes: ['201']
    steps:
      - play: { greeting: '\${mailbox}' }
      - play: { greeting: '\${mailbox}', kind: name }
`);
    const r = await call(
      { dialled: '5000', forwardedFrom: '201', forwardReason: 'user-busy' },
      {},
      book!,
    );
    expect(r.played.slice(0, 2)).toEqual(['audio:1200', 'audio:900']);
    expect(r.lookups).toEqual(['findMailbox(201)']);
  });
});
