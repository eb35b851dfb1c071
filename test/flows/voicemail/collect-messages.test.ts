import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectMessages } from '../../../server/flows/voicemail/collect-messages.ts';
import type { CallInfo } from '../../../server/flows/call.ts';
import { FakeCall, type Cue } from './fake-call.ts';
import { flowKit, type FlowKit } from './flow-kit.ts';

let k: FlowKit;
beforeEach(async () => {
  k = await flowKit();
});
afterEach(async () => {
  await k.cleanup();
});

const en = { language: 'en' };

function run(
  cues: Cue[],
  opts: { mailboxRef?: string; trusted?: boolean } = {},
  info: Partial<CallInfo> = {},
) {
  const call = new FakeCall({ cues, info });
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

  it('logs when each prompt starts taking keys: the mailbox, the code, then the main menu', async () => {
    await k.mailbox();
    const collecting: unknown[] = [];
    const log = {
      ...k.deps.log,
      debug: (obj: object, msg: string) => {
        if (msg === 'collecting keys') collecting.push(obj);
      },
    };
    const call = new FakeCall({ cues: [{ keys: '201#' }, { keys: '1234#' }, { keys: '9' }] });
    await collectMessages(call, { ...k.deps, log }, { ...en, trusted: false });
    expect(collecting.slice(0, 3)).toEqual([
      { callId: 'call-1', menu: 'enter-mailbox' },
      { callId: 'call-1', menu: 'enter-code' },
      { callId: 'call-1', menu: 'main-menu' },
    ]);
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

  it('counts an untrusted source per address, whatever caller number it claims; a trusted PBX per caller', async () => {
    for (let m = 201; m <= 210; m++) await k.mailbox({ name: `${m}`, extension: `${m}` });
    const login = async (mailbox: number, code: string, info: Partial<CallInfo>) => {
      const { call, done } = run(
        [{ keys: `${mailbox}#` }, { keys: `${code}#` }, { keys: '#' }],
        {},
        info,
      );
      await done;
      return call.played.includes('you-have');
    };
    // 20 wrong codes (the per-address default), 4 on each of five mailboxes (below their own
    // lockout), each call claiming a new number from one untrusted address: it is refused.
    const untrusted = { remote: '192.0.2.7:5060' };
    for (let n = 0; n < 20; n++)
      expect(await login(201 + (n % 5), '9999', { ...untrusted, callerNumber: `5550${n}` })).toBe(
        false,
      );
    expect(await login(201, '1234', { ...untrusted, callerNumber: '5559999' })).toBe(false);
    // Through a trusted PBX one caller's wrong codes refuse that caller, not the next one.
    const pbx = { remote: '192.0.2.8:5060', vouchedBy: 'peer' as const };
    for (let n = 0; n < 20; n++)
      expect(await login(206 + (n % 5), '9999', { ...pbx, callerNumber: '5557777' })).toBe(false);
    expect(await login(206, '1234', { ...pbx, callerNumber: '5557777' })).toBe(false);
    expect(await login(206, '1234', { ...pbx, callerNumber: '5558888' })).toBe(true);
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
