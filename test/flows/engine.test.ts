import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFlows } from '../../server/flows/validate.ts';
import { runFlow } from '../../server/flows/engine.ts';
import type { Flow } from '../../server/flows/flow.ts';
import { parseWav } from '../../server/media/wav.ts';
import { tempContext } from '../helpers/temp-context.ts';
import { flowDeps } from '../helpers/flow-deps.ts';
import { ScriptedCall } from '../helpers/scripted-call.ts';
import type { Delivery } from '../../server/domain/delivery.ts';

let ctx: Awaited<ReturnType<typeof tempContext>>;
beforeAll(async () => {
  ctx = await tempContext();
  await ctx.mailboxes.add(
    { name: 'sales', extension: '300', email: 'sales@example.com', fullName: 'Sales team' },
    '1234',
  );
});
afterAll(() => ctx.cleanup());

function flow(yaml: string, name = 'main'): Flow {
  const { book, errors } = parseFlows(yaml);
  if (!book) throw new Error(errors.join('\n'));
  return book.flows.get(name)!;
}

const MENU = `
flows:
  main:
    mailboxes: [sales]
    steps:
      - id: menu
        menu:
          prompt: main-menu
          keys: { 1: one, '*': star }
          timeoutMs: 3000
          retries: 1
          invalid: wrong
      - id: one
        play: thank-you
        next: bye
      - id: star
        speak: Hello \${callerName} at \${dialled}
        next: bye
      - id: wrong
        play: invalid-entry
      - id: bye
        hangup: goodbye
`;

describe('menu', () => {
  it('branches on a key typed during the prompt', async () => {
    const call = new ScriptedCall({ keys: ['1'] });
    const { deps, heard } = flowDeps(ctx);
    const result = await runFlow(call, flow(MENU), deps);
    expect(heard(call)).toEqual(['main-menu', 'thank-you', 'goodbye']);
    expect(result).toEqual({ outcome: 'hangup', steps: 3 });
    expect(call.events.at(-1)).toEqual({ type: 'hangup', by: 'flow' });
  });

  it('replays after a wrong key, then takes the right one; variables fill speech', async () => {
    const call = new ScriptedCall({ keys: ['7', '*'] });
    const { deps, heard } = flowDeps(ctx);
    await runFlow(call, flow(MENU), deps);
    expect(heard(call)).toEqual([
      'main-menu',
      'invalid-entry',
      'please-try-again',
      'main-menu',
      'say:Hello Caller at 5000',
      'goodbye',
    ]);
  });

  it('logs when the menu starts taking keys, at each attempt, with the call id and step id', async () => {
    const call = new ScriptedCall({ keys: ['7', '*'] });
    const { deps, logs } = flowDeps(ctx);
    await runFlow(call, flow(MENU), deps);
    const collecting = logs.filter((l) => l.msg === 'collecting keys');
    expect(collecting.map((l) => [l.level, l.obj.callId, l.obj.menu])).toEqual([
      ['debug', 'call-1', 'menu'],
      ['debug', 'call-1', 'menu'],
    ]);
  });

  it('goes to the invalid branch once the retries are used up', async () => {
    const call = new ScriptedCall({ keys: ['7', '8', '1'] });
    const { deps, heard } = flowDeps(ctx);
    await runFlow(call, flow(MENU), deps);
    expect(heard(call)).toEqual([
      'main-menu',
      'invalid-entry',
      'please-try-again',
      'main-menu',
      'invalid-entry',
      'goodbye',
    ]);
    expect(call.keysLeft).toBe(1);
  });

  it('says goodbye and hangs up after timeouts when there is no timeout branch', async () => {
    // The key comes 7 s late: both 3 s waits time out before it.
    const call = new ScriptedCall({ keys: [{ key: '1', afterMs: 7000 }] });
    const { deps, heard } = flowDeps(ctx);
    const result = await runFlow(call, flow(MENU), deps);
    expect(heard(call)).toEqual([
      'main-menu',
      'no-entry',
      'please-try-again',
      'main-menu',
      'goodbye',
    ]);
    expect(result.outcome).toBe('hangup');
  });

  it('ends cleanly when the caller hangs up while the menu waits', async () => {
    const call = new ScriptedCall({ hangUpAfterOps: 1 });
    const { deps, logs } = flowDeps(ctx);
    const result = await runFlow(call, flow(MENU), deps);
    expect(result).toEqual({ outcome: 'hangup', steps: 1 });
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);
  });
});

describe('goto, transfer and the step limit', () => {
  it('transfers with a REFER and ends the run', async () => {
    const call = new ScriptedCall();
    const { deps, heard } = flowDeps(ctx);
    const f = flow(`
flows:
  main:
    steps:
      - goto: xfer
      - id: bye
        hangup: goodbye
      - id: xfer
        transfer: { to: '201', failed: bye }
`);
    expect(await runFlow(call, f, deps)).toEqual({ outcome: 'transferred', steps: 2 });
    expect(heard(call)).toEqual(['please-hold']);
    expect(call.events.filter((e) => e.type === 'transfer')).toEqual([
      { type: 'transfer', target: '201' },
    ]);
  });

  it('a refused transfer goes to its failed branch', async () => {
    const call = new ScriptedCall({ transferResult: 'failed' });
    const { deps, heard } = flowDeps(ctx);
    const f = flow(`
flows:
  main:
    steps:
      - transfer: { to: '201', failed: sorry }
      - id: sorry
        hangup: transfer-failed
`);
    expect((await runFlow(call, f, deps)).outcome).toBe('hangup');
    expect(heard(call)).toEqual(['please-hold', 'transfer-failed']);
  });

  it('a transfer outside the dial plan says the number cannot be called, then goes to failed', async () => {
    const call = new ScriptedCall({ transferResult: 'not-allowed' });
    const { deps, heard } = flowDeps(ctx);
    const f = flow(`
flows:
  main:
    steps:
      - transfer: { to: '\${callerNumber}', failed: bye }
      - id: bye
        hangup: goodbye
`);
    expect((await runFlow(call, f, deps)).outcome).toBe('hangup');
    expect(heard(call)).toEqual(['please-hold', 'number-not-allowed', 'goodbye']);
  });

  it('stops a flow that loops through a menu at the step limit', async () => {
    const call = new ScriptedCall({ keys: Array(50).fill('1') });
    const { deps, logs } = flowDeps(ctx, { maxSteps: 10 });
    const f = flow(`
flows:
  main:
    steps:
      - id: again
        menu: { prompt: main-menu, keys: { 1: again } }
`);
    expect(await runFlow(call, f, deps)).toEqual({ outcome: 'step-limit', steps: 10 });
    expect(call.ended).toBe(true);
    expect(logs.some((l) => l.level === 'warn' && l.msg.includes('step limit'))).toBe(true);
  });

  it('logs a failing step with the call id and ends the call without throwing', async () => {
    const call = new ScriptedCall();
    const { deps, logs } = flowDeps(ctx, {
      speech: { say: () => Promise.reject(new Error('boom')) },
    });
    const f = flow(`
flows:
  main:
    steps:
      - speak: hello
`);
    expect((await runFlow(call, f, deps)).outcome).toBe('error');
    expect(logs.find((l) => l.level === 'error')?.obj).toMatchObject({
      cid: 'call-1',
      flow: 'main',
    });
    expect(call.ended).toBe(true);
  });

  it('plays a tone for a prompt that cannot be had', async () => {
    const call = new ScriptedCall();
    const { deps, heard } = flowDeps(ctx);
    const f = flow(`
flows:
  main:
    steps:
      - play: missing-prompt
`);
    await runFlow(call, f, deps);
    expect(heard(call)).toEqual(['?']);
  });
});

describe('time-condition', () => {
  const f = () =>
    flow(`
flows:
  main:
    steps:
      - time-condition:
          timeZone: Europe/Paris
          rules:
            - { days: mon-fri, from: '09:00', to: '18:00', goto: open }
            - { days: [sat], from: '22:00', to: '02:00', goto: late }
          else: closed
      - id: open
        hangup: thank-you
      - id: late
        hangup: please-hold
      - id: closed
        hangup: office-closed
`);
  const at = (iso: string) => Date.parse(iso);
  it.each([
    ['2025-06-02T08:30:00Z', 'thank-you'], // Monday 10:30 in Paris (UTC+2)
    ['2025-06-02T16:30:00Z', 'office-closed'], // Monday 18:30
    ['2025-06-07T21:00:00Z', 'please-hold'], // Saturday 23:00
    ['2025-06-07T23:30:00Z', 'please-hold'], // Sunday 01:30, Saturday night's range
    ['2025-06-08T10:00:00Z', 'office-closed'], // Sunday noon
  ])('at %s plays %s', async (iso, expected) => {
    const call = new ScriptedCall();
    const { deps, heard } = flowDeps(ctx, { now: () => at(iso) });
    await runFlow(call, f(), deps);
    expect(heard(call)).toEqual([expected]);
  });
});

describe('voice-question and email', () => {
  it('records an answer and queues a mail carrying it, even after the caller hung up', async () => {
    const samples = new Int16Array(16000).map((_, i) => Math.round(8000 * Math.sin(i / 5)));
    const call = new ScriptedCall({ recordings: [{ samples, endedBy: 'hangup' }] });
    const { deps, heard } = flowDeps(ctx);
    const f = flow(`
flows:
  main:
    mailboxes: [sales]
    steps:
      - voice-question: { prompt: thank-you, into: question, maxSeconds: 30 }
      - email: { to: desk@example.org, recording: question }
      - play: goodbye
`);
    const result = await runFlow(call, f, deps, { mailbox: 'sales', callerNumber: '5551234' });
    expect(result).toEqual({ outcome: 'hangup', steps: 2 });
    expect(heard(call)).toEqual(['thank-you', 'tone']);
    expect(call.events.find((e) => e.type === 'record')).toMatchObject({
      opts: { maxMs: 30_000, stopKeys: '#' },
    });
    const queued = await ctx.deliveries.list();
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({
      kind: 'manual',
      recipient: 'desk@example.org',
      callerNumber: '5551234',
      messageId: null,
      audio: { durationMs: 2000, format: 'wav/pcm16/8000' },
    });
    const wav = parseWav(await ctx.audio.read((queued[0] as Delivery).audio.key));
    expect(new Int16Array(wav.data.buffer, wav.data.byteOffset, wav.data.length / 2)).toEqual(
      samples,
    );
  });
});

describe('leave-message and collect-messages', () => {
  it('call the voicemail flows with the mailbox, the language and trust from routing', async () => {
    const call = new ScriptedCall();
    const { deps, voicemailCalls } = flowDeps(ctx);
    const f = flow(`
flows:
  main:
    mailboxes: [sales]
    steps:
      - leave-message: \${mailbox}
      - collect-messages: \${mailbox}
      - collect-messages: '300'
`);
    await runFlow(call, f, deps, { mailbox: 'sales', trusted: 'yes', language: 'fr' });
    expect(voicemailCalls).toEqual([
      { fn: 'leaveMessage', mailbox: 'sales', opts: { language: 'fr' } },
      { fn: 'collectMessages', opts: { language: 'fr', mailboxRef: 'sales', trusted: true } },
      // Trust is for the routed mailbox only.
      { fn: 'collectMessages', opts: { language: 'fr', mailboxRef: '300', trusted: false } },
    ]);
  });
});
