import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectMessages } from '../../../server/flows/voicemail/collect-messages.ts';
import { leaveMessage } from '../../../server/flows/voicemail/leave-message.ts';
import { FakeCall, type Cue, type Take } from './fake-call.ts';
import { flowKit, type FlowKit } from './flow-kit.ts';

let k: FlowKit;
beforeEach(async () => {
  k = await flowKit();
  await k.mailbox();
});
afterEach(async () => {
  await k.cleanup();
});

async function owner(cues: Cue[], takes: Take[] = []): Promise<FakeCall> {
  const call = new FakeCall({ cues, takes });
  await collectMessages(call, k.deps, { mailboxRef: '201', trusted: true, language: 'en' });
  return call;
}

describe('greetings menu (3)', () => {
  it('records the busy greeting and makes it the one callers hear', async () => {
    const call = await owner(
      [{ keys: '3' }, { keys: '2' }, { keys: '#' }, { keys: '6' }, { keys: '2' }, { keys: '#' }],
      [{ seconds: 2 }],
    );
    expect(call.played).toEqual(
      expect.arrayContaining(['record-after-tone', 'tone', 'greeting-saved', 'greeting-activated']),
    );
    expect(call.played).not.toContain('greeting-not-recorded');
    const greetings = await k.messages.greetings('201');
    expect(greetings.map((g) => [g.kind, g.audio.durationMs])).toEqual([['busy', 2000]]);
    expect((await k.mailboxes.resolve('201')).activeGreeting).toBe('busy');

    const caller = new FakeCall({ takes: [{ seconds: 2, endedBy: 'hangup' }] });
    await leaveMessage(caller, k.deps, '201', { language: 'en' });
    expect(caller.played[0]).toBe('audio:2000');
  });

  it('records the name, which callers then hear before "is not available"', async () => {
    await owner([{ keys: '3' }, { keys: '4' }, { keys: '#' }], [{ seconds: 1 }]);
    const caller = new FakeCall({ takes: [{ seconds: 2, endedBy: 'hangup' }] });
    await leaveMessage(caller, k.deps, '201', { language: 'en' });
    expect(caller.played.slice(0, 2)).toEqual(['audio:1000', 'is-not-available']);
  });

  it('listens (2) and re-records (3) before keeping, and cancels (9)', async () => {
    const call = await owner(
      [{ keys: '3' }, { keys: '1' }, { keys: '2' }, { keys: '3' }, { keys: '#' }],
      [{ seconds: 1.5 }, { seconds: 2.5 }],
    );
    expect(call.played).toContain('audio:1500');
    expect((await k.messages.greetings('201')).map((g) => g.audio.durationMs)).toEqual([2500]);

    await owner([{ keys: '3' }, { keys: '3' }, { keys: '9' }], [{ seconds: 3 }]);
    expect((await k.messages.greetings('201')).map((g) => g.kind)).toEqual(['unavailable']);
  });

  it('keeps nothing when the owner hangs up while recording', async () => {
    await owner([{ keys: '3' }, { keys: '1' }], [{ seconds: 2, endedBy: 'hangup' }]);
    expect(await k.messages.greetings('201')).toEqual([]);
  });

  it('activating a greeting never recorded warns the owner', async () => {
    const call = await owner([{ keys: '3' }, { keys: '6' }, { keys: '3' }]);
    expect(call.played).toEqual(
      expect.arrayContaining(['greeting-activated', 'greeting-not-recorded']),
    );
    expect((await k.mailboxes.resolve('201')).activeGreeting).toBe('temporary');
  });
});

describe('change code (4)', () => {
  const web = { channel: 'web' as const, remote: '10.0.0.1' };

  it('asks the current code first, then sets the new code once typed twice alike', async () => {
    const call = await owner([
      { keys: '4' },
      { keys: '1234#' },
      { keys: '5678#' },
      { keys: '5678#' },
    ]);
    expect(call.played).toContain('enter-current-code');
    expect(call.played).toContain('code-changed');
    await expect(k.mailboxes.authenticate('201', '5678', web)).resolves.toMatchObject({
      name: '201',
    });
  });

  it('refuses codes that differ or that the policy forbids, saying the minimum', async () => {
    const call = await owner([
      { keys: '4' },
      { keys: '1234#' },
      { keys: '5678#' },
      { keys: '5679#' },
      { keys: '12#' },
      { keys: '12#' },
    ]);
    expect(call.played).toContain('codes-do-not-match');
    const i = call.played.indexOf('code-invalid');
    expect(call.played.slice(i, i + 3)).toEqual(['code-invalid', 'four', 'digits']);
    await expect(k.mailboxes.authenticate('201', '1234', web)).resolves.toBeTruthy();
  });

  it('changes nothing without the current code, and counts the failure', async () => {
    // Let in by caller ID alone (a trusted PBX): knowing the number is not knowing the code.
    const call = await owner([
      { keys: '4' },
      { keys: '9999#' },
      { keys: '5678#' },
      { keys: '5678#' },
    ]);
    expect(call.played).toContain('login-incorrect');
    expect(call.played).not.toContain('code-changed');
    expect((await k.mailboxes.resolve('201')).failedLogins).toBe(1);
    await expect(k.mailboxes.authenticate('201', '1234', web)).resolves.toBeTruthy();
  });
});
