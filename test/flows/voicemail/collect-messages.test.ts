import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectMessages } from '../../../server/flows/voicemail/collect-messages.ts';
import { FakeCall, type Cue } from './fake-call.ts';
import { flowKit, type FlowKit } from './flow-kit.ts';

let k: FlowKit;
beforeEach(() => {
  k = flowKit();
});
afterEach(async () => {
  await k.cleanup();
});

const en = { language: 'en' };

function run(cues: Cue[], opts: { mailboxRef?: string; trusted?: boolean } = {}) {
  const call = new FakeCall({ cues });
  return { call, done: collectMessages(call, k.deps, { ...en, trusted: false, ...opts }) };
}

async function failures(ref = '201'): Promise<number> {
  return (await k.ctx.store.findMailbox(ref))!.failedLogins;
}

describe('logging in', () => {
  it('skips the code for a trusted caller and starts with the summary', async () => {
    await k.mailbox();
    await k.deposit('201', 1.5);
    const { call, done } = run([{ keys: '#' }], { mailboxRef: '201', trusted: true });
    await done;
    expect(call.played).toEqual([
      'you-have',
      'one',
      'new-message',
      'and',
      'zero',
      'saved-messages',
      'main-menu',
      'goodbye',
    ]);
    expect(call.hungUpByFlow).toBe(true);
  });

  it('asks for the mailbox and the code, each ended by #', async () => {
    await k.mailbox();
    const { call, done } = run([{ keys: '201#' }, { keys: '1234#' }, { keys: '9' }]);
    await done;
    expect(call.played.slice(0, 3)).toEqual(['enter-mailbox', 'enter-code', 'you-have']);
    expect(call.played.at(-1)).toBe('goodbye');
  });

  it('asks only for the code when the router named the mailbox but does not trust the caller', async () => {
    await k.mailbox();
    const { call, done } = run([{ keys: '1234#' }, { keys: '#' }], { mailboxRef: '201' });
    await done;
    expect(call.played.slice(0, 2)).toEqual(['enter-code', 'you-have']);
  });

  it('ends the call after three wrong codes, counted in the lockout every channel shares', async () => {
    await k.mailbox();
    const wrong = { keys: '9999#' };
    const { call, done } = run([
      { keys: '201#' },
      wrong,
      { keys: '201#' },
      wrong,
      { keys: '201#' },
      wrong,
    ]);
    await done;
    expect(call.played.filter((l) => l === 'login-incorrect')).toHaveLength(3);
    expect(call.played.slice(-2)).toEqual(['login-incorrect', 'goodbye']);
    expect(call.hungUpByFlow).toBe(true);
    expect(await failures()).toBe(3);
    // Two more wrong codes on the web lock the mailbox (policy: 5 failures).
    const web = { channel: 'web' as const, remote: '10.0.0.1' };
    await expect(k.mailboxes.authenticate('201', '0000', web)).rejects.toMatchObject({
      code: 'AUTH_FAILED',
    });
    await expect(k.mailboxes.authenticate('201', '0000', web)).rejects.toMatchObject({
      code: 'AUTH_FAILED',
    });
  });

  it('refuses the right code to a locked mailbox with the words an unknown mailbox hears', async () => {
    await k.mailbox();
    for (let i = 0; i < 5; i++) {
      await k.mailboxes
        .authenticate('201', '0000', { channel: 'imap', remote: 'x' })
        .catch(() => {});
    }
    const locked = run([{ keys: '201#' }, { keys: '1234#' }]);
    await locked.done;
    const unknown = run([{ keys: '299#' }, { keys: '1234#' }]);
    await unknown.done;
    expect(locked.call.played.slice(0, 3)).toEqual([
      'enter-mailbox',
      'enter-code',
      'login-incorrect',
    ]);
    expect(locked.call.played).toEqual(unknown.call.played);
    expect(locked.call.played).not.toContain('you-have');
  });

  it('a right code clears earlier failures', async () => {
    await k.mailbox();
    const { done } = run([{ keys: '1111#' }, { keys: '1234#' }], { mailboxRef: '201' });
    await done;
    expect(await failures()).toBe(0);
  });
});

describe('message headers', () => {
  const at = Date.UTC(2026, 2, 2, 14, 5); // Monday 2 March 2026, 14:05 UTC

  it('speaks the caller number and the time in the mailbox zone and language', async () => {
    await k.mailbox({ timeZone: 'Europe/Paris', locale: 'fr' });
    await k.mailbox({ name: '202', extension: '202', timeZone: 'America/New_York' });
    await k.deposit('201', 1.5, { receivedAt: at, callerNumber: '42' });
    await k.deposit('202', 1.5, { receivedAt: at, callerNumber: '42' });

    const paris = run([{ keys: '1' }, { keys: '9' }, { keys: '#' }], {
      mailboxRef: '201',
      trusted: true,
    });
    await paris.done;
    const ny = run([{ keys: '1' }, { keys: '9' }, { keys: '#' }], {
      mailboxRef: '202',
      trusted: true,
    });
    await ny.done;

    const header = ['message-from', 'four', 'two', 'received'];
    expect(paris.call.played).toEqual(expect.arrayContaining(header));
    expect(k.speech.said).toEqual([
      { text: 'lundi 2 mars à 15:05', language: 'fr' },
      { text: 'Monday, March 2 at 9:05 AM', language: 'en-US' },
    ]);
  });

  it('says "unknown caller" for a withheld number and marks priority and private', async () => {
    await k.mailbox();
    await k.deposit('201', 1.5, { callerNumber: null, priority: 'high', private: true });
    const { call, done } = run([{ keys: '1' }], { mailboxRef: '201', trusted: true });
    await done;
    const i = call.played.indexOf('priority-message');
    expect(call.played.slice(i, i + 4)).toEqual([
      'priority-message',
      'private-message',
      'message-from',
      'unknown-caller',
    ]);
  });
});
