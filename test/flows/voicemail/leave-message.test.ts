import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { leaveMessage } from '../../../server/flows/voicemail/leave-message.ts';
import { FakeCall } from './fake-call.ts';
import { flowKit, type FlowKit } from './flow-kit.ts';

let k: FlowKit;
beforeEach(async () => {
  k = await flowKit();
});
afterEach(async () => {
  await k.cleanup();
});

const en = { language: 'en' };

async function stored(ref = '201') {
  const mailbox = await k.mailboxes.resolve(ref);
  return k.messages.list(mailbox.id);
}

describe('greeting', () => {
  it('plays the active greeting, then the tone', async () => {
    await k.mailbox({ activeGreeting: 'busy' });
    await k.messages.setGreeting('201', 'busy', k.wav(1.5));
    await k.messages.setGreeting('201', 'name', k.wav(0.9));
    const call = new FakeCall({ takes: [{ seconds: 3, endedBy: 'hangup' }] });
    await leaveMessage(call, k.deps, '201', en);
    expect(call.played.slice(0, 2)).toEqual(['audio:1500', 'tone']);
  });

  it('plays the busy greeting to a call forwarded on busy, unless a temporary one is active', async () => {
    await k.mailbox({ activeGreeting: 'unavailable' });
    await k.messages.setGreeting('201', 'unavailable', k.wav(1.5));
    await k.messages.setGreeting('201', 'busy', k.wav(1.2));
    const busy = { forwardedFrom: '201', forwardReason: 'user-busy' };
    const call = new FakeCall({ takes: [{ seconds: 3, endedBy: 'hangup' }], info: busy });
    await leaveMessage(call, k.deps, '201', en);
    expect(call.played[0]).toBe('audio:1200');
    const other = new FakeCall({ takes: [{ seconds: 3, endedBy: 'hangup' }] });
    await leaveMessage(other, k.deps, '201', en);
    expect(other.played[0]).toBe('audio:1500');
    await k.messages.setGreeting('201', 'temporary', k.wav(0.8));
    await k.mailboxes.update('201', { activeGreeting: 'temporary' });
    const away = new FakeCall({ takes: [{ seconds: 3, endedBy: 'hangup' }], info: busy });
    await leaveMessage(away, k.deps, '201', en);
    expect(away.played[0]).toBe('audio:800');
  });

  it('falls back to the recorded name + "is not available"', async () => {
    await k.mailbox();
    await k.messages.setGreeting('201', 'name', k.wav(0.9));
    const call = new FakeCall({ takes: [{ seconds: 3, endedBy: 'hangup' }] });
    await leaveMessage(call, k.deps, '201', en);
    expect(call.played.slice(0, 4)).toEqual([
      'audio:900',
      'is-not-available',
      'leave-message-after-tone',
      'tone',
    ]);
  });

  it('falls back to the extension spoken digit by digit', async () => {
    await k.mailbox();
    const call = new FakeCall({ takes: [{ seconds: 3, endedBy: 'hangup' }] });
    await leaveMessage(call, k.deps, '201', en);
    expect(call.played.slice(0, 7)).toEqual([
      'extension-intro',
      'two',
      'zero',
      'one',
      'is-not-available',
      'leave-message-after-tone',
      'tone',
    ]);
  });

  it('skips the greeting when the flow already played its own', async () => {
    await k.mailbox();
    const call = new FakeCall({ takes: [{ seconds: 3, endedBy: 'hangup' }] });
    await leaveMessage(call, k.deps, '201', { ...en, greeting: false });
    expect(call.played[0]).toBe('tone');
  });
});

describe('breakouts', () => {
  it('transfers on a breakout key during the greeting and records nothing', async () => {
    await k.mailbox({ breakouts: { '0': '100', '3': '300' } });
    await k.messages.setGreeting('201', 'unavailable', k.wav(1.5));
    const call = new FakeCall({ cues: [{ keys: '3', during: 'audio:1500' }] });
    const result = await leaveMessage(call, k.deps, '201', en);
    expect(result).toEqual({ outcome: 'transferred', target: '300' });
    expect(call.transfers).toEqual(['300']);
    expect(call.records).toHaveLength(0);
    expect(await stored()).toHaveLength(0);
  });

  it('a breakout outside the dial plan says so, then goes on to the tone', async () => {
    await k.mailbox({ breakouts: { '0': '0899123456' } });
    await k.messages.setGreeting('201', 'unavailable', k.wav(1.5));
    const call = new FakeCall({
      cues: [{ keys: '0', during: 'audio:1500' }],
      takes: [{ seconds: 3, endedBy: 'hangup' }],
    });
    call.transferResult = 'not-allowed';
    const result = await leaveMessage(call, k.deps, '201', en);
    expect(call.transfers).toEqual(['0899123456']);
    expect(call.played.slice(0, 3)).toEqual(['audio:1500', 'number-not-allowed', 'tone']);
    expect(result.outcome).toBe('stored');
  });

  it('ignores a breakout key with no number: the greeting goes on', async () => {
    await k.mailbox({ breakouts: { '0': '100' } });
    await k.messages.setGreeting('201', 'unavailable', k.wav(1.5));
    const call = new FakeCall({
      cues: [{ keys: '2', during: 'audio:1500' }],
      takes: [{ seconds: 3, endedBy: 'hangup' }],
    });
    const result = await leaveMessage(call, k.deps, '201', en);
    expect(call.transfers).toEqual([]);
    expect(call.played.slice(0, 3)).toEqual(['audio:1500', 'audio:1500', 'tone']);
    expect(result.outcome).toBe('stored');
  });
});

describe('recording', () => {
  it('# ends the recording; # at the options sends it', async () => {
    await k.mailbox();
    const call = new FakeCall({
      cues: [{ keys: '#', during: 'leave-options' }],
      takes: [{ seconds: 2.5, endedBy: 'key', key: '#' }],
    });
    const result = await leaveMessage(call, k.deps, '201', en);
    expect(call.records[0]).toMatchObject({ stopKeys: '#', maxMs: 10_000 });
    expect(result.outcome).toBe('stored');
    const [m] = await stored();
    expect(m).toMatchObject({
      callerNumber: '5551234',
      callerName: 'Ada Caller',
      state: 'new',
      audio: { format: 'wav/pcm16/8000', durationMs: 2500 },
    });
    expect(call.played.slice(-2)).toEqual(['message-sent', 'goodbye']);
    expect(call.hungUpByFlow).toBe(true);
  });

  it('lets the caller listen and record again before sending', async () => {
    await k.mailbox();
    const call = new FakeCall({
      cues: [{ keys: '2' }, { keys: '3' }, { keys: '#', during: 'leave-options' }],
      takes: [{ seconds: 2 }, { seconds: 4 }],
    });
    await leaveMessage(call, k.deps, '201', en);
    expect(call.played).toContain('audio:2000');
    const list = await stored();
    expect(list.map((m) => m.audio.durationMs)).toEqual([4000]);
  });

  it('drops a message shorter than the minimum', async () => {
    await k.mailbox();
    const call = new FakeCall({ takes: [{ seconds: 0.5, endedBy: 'key' }] });
    const result = await leaveMessage(call, k.deps, '201', en);
    expect(result).toEqual({ outcome: 'discarded', reason: 'too-short' });
    expect(call.played).toContain('message-too-short');
    expect(await stored()).toHaveLength(0);
  });

  it('stores on hang-up, durably before it resolves', async () => {
    await k.mailbox();
    const call = new FakeCall({ takes: [{ seconds: 3, endedBy: 'hangup' }] });
    const result = await leaveMessage(call, k.deps, '201', en);
    // Nothing awaited after the flow: the message is in the store as the promise resolves.
    const list = await stored();
    expect(result).toEqual({ outcome: 'stored', messageIds: [list[0]!.id] });
    expect(list[0]!.audio.durationMs).toBe(3000);
    expect(call.played.at(-1)).toBe('tone');
  });

  it('stores when the caller hangs up at the options', async () => {
    await k.mailbox();
    const call = new FakeCall({
      cues: [{ hangup: true, during: 'leave-options' }],
      takes: [{ seconds: 2 }],
    });
    expect((await leaveMessage(call, k.deps, '201', en)).outcome).toBe('stored');
    expect(await stored()).toHaveLength(1);
  });

  it('stops at the maximum length and says so', async () => {
    await k.mailbox();
    const call = new FakeCall({ takes: [{ seconds: 10, endedBy: 'max' }] });
    await leaveMessage(call, k.deps, '201', en);
    expect(call.records[0]!.maxMs).toBe(10_000);
    expect(call.played).toContain('max-length-reached');
    expect((await stored())[0]!.audio.durationMs).toBe(10_000);
  });

  it('deposits a hunt group message through the domain (broadcast to members)', async () => {
    await k.mailbox();
    await k.mailbox({ name: '202', extension: '202' });
    await k.mailboxes.add({ kind: 'group', name: 'sales', extension: '600' }, '1234');
    await k.mailboxes.setGroupMembers('sales', ['201', '202']);
    const call = new FakeCall({ takes: [{ seconds: 2, endedBy: 'hangup' }] });
    const result = await leaveMessage(call, k.deps, '600', en);
    expect(result.outcome === 'stored' && result.messageIds).toHaveLength(2);
    expect(await stored('201')).toHaveLength(1);
    expect(await stored('202')).toHaveLength(1);
  });

  it('says so and hangs up for an unknown mailbox', async () => {
    const call = new FakeCall();
    expect(await leaveMessage(call, k.deps, '999', en)).toEqual({ outcome: 'no-mailbox' });
    expect(call.played).toEqual(['no-such-mailbox', 'goodbye']);
  });
});
