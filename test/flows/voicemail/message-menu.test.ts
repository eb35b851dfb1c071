import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectMessages } from '../../../server/flows/voicemail/collect-messages.ts';
import { FakeCall, type Cue } from './fake-call.ts';
import { flowKit, type FlowKit } from './flow-kit.ts';

let k: FlowKit;
beforeEach(async () => {
  k = await flowKit();
  await k.mailbox();
  await k.mailbox({ name: '202', extension: '202' });
});
afterEach(async () => {
  await k.cleanup();
});

/** The owner of 201 dials in from their own phone and presses these keys. */
async function owner(cues: Cue[], setUp?: (call: FakeCall) => void): Promise<FakeCall> {
  const call = new FakeCall({ cues });
  setUp?.(call);
  await collectMessages(call, k.deps, { mailboxRef: '201', trusted: true, language: 'en' });
  return call;
}

/** What every other channel sees: the domain's list. */
async function states(ref = '201', view: 'inbox' | 'deleted' = 'inbox') {
  const mailbox = await k.mailboxes.resolve(ref);
  return (await k.messages.list(mailbox.id, view)).map((m) => m.state);
}

describe('listening', () => {
  it('the header makes a message unopened, the message makes it old', async () => {
    await k.deposit('201', 1.5);
    await k.deposit('201', 2);
    // First: skip (#) during the header. Second: heard to the end.
    await owner([{ keys: '1' }, { keys: '#', during: 'message-from' }]);
    expect(await states()).toEqual(['unopened', 'old']);
  });

  it('plays new messages in playback order (FIFO), each after its header', async () => {
    await k.deposit('201', 1.5, { receivedAt: Date.UTC(2026, 0, 1) });
    await k.deposit('201', 2, { receivedAt: Date.UTC(2026, 0, 2) });
    const call = await owner([{ keys: '1' }, { keys: '#' }, { keys: '#' }]);
    const audio = call.played.filter((l) => l.startsWith('audio:'));
    expect(audio).toEqual(['audio:1500', 'audio:2000']);
    expect(call.played).toContain('no-more-messages');
  });

  it('2 at the main menu plays old and saved messages', async () => {
    const m = await k.deposit('201', 1.5);
    await k.messages.act(m.mailboxId, m.id, 'save');
    const call = await owner([{ keys: '1' }, { keys: '2' }]);
    expect(call.played).toContain('no-new-messages');
    expect(call.played).toContain('audio:1500');
  });

  it('replay (0) plays the message again', async () => {
    await k.deposit('201', 1.5);
    const call = await owner([{ keys: '1' }, { keys: '0' }]);
    expect(call.played.filter((l) => l === 'audio:1500')).toHaveLength(2);
    expect(await states()).toEqual(['old']);
  });

  it('help (*) lists every key', async () => {
    await k.deposit('201', 1.5);
    const call = await owner([{ keys: '1' }, { keys: '*' }]);
    expect(call.played).toContain('message-help');
  });
});

describe('actions, as other channels see them', () => {
  it('save (7)', async () => {
    await k.deposit('201', 1.5);
    const call = await owner([{ keys: '1' }, { keys: '7' }]);
    expect(call.played).toContain('message-saved');
    expect(await states()).toEqual(['saved']);
  });

  it('save during the message itself', async () => {
    await k.deposit('201', 1.5);
    await owner([{ keys: '1' }, { keys: '7', during: 'audio:1500' }]);
    expect(await states()).toEqual(['saved']);
  });

  it('delete (3), then undelete (8) restores the last deleted message', async () => {
    await k.deposit('201', 1.5);
    await k.deposit('201', 2);
    const call = await owner([{ keys: '1' }, { keys: '3' }, { keys: '8' }]);
    expect(call.played).toEqual(expect.arrayContaining(['message-deleted', 'message-undeleted']));
    expect(await states()).toEqual(['old', 'old']);
    expect(await states('201', 'deleted')).toEqual([]);
  });

  it('delete (3) moves the message to the deleted view', async () => {
    await k.deposit('201', 1.5);
    await owner([{ keys: '1' }, { keys: '3' }]);
    expect(await states()).toEqual([]);
    expect(await states('201', 'deleted')).toEqual(['deleted']);
  });

  it('mark new (6)', async () => {
    await k.deposit('201', 1.5);
    await owner([{ keys: '1' }, { keys: '6' }]);
    expect(await states()).toEqual(['new']);
  });

  it('forward (5) to another mailbox', async () => {
    await k.deposit('201', 1.5);
    const call = await owner([{ keys: '1' }, { keys: '5' }, { keys: '202#' }]);
    expect(call.played).toContain('message-forwarded');
    const target = await k.mailboxes.resolve('202');
    const [copy] = await k.messages.list(target.id);
    expect(copy).toMatchObject({ state: 'new', forwardedFrom: '201', callerNumber: '5550001' });
  });

  it('forward refuses a private message', async () => {
    await k.deposit('201', 1.5, { private: true });
    const call = await owner([{ keys: '1' }, { keys: '5' }, { keys: '202#' }]);
    expect(call.played).toContain('private-cannot-forward');
    expect(await states('202')).toEqual([]);
  });

  it('forward to an unknown mailbox says so', async () => {
    await k.deposit('201', 1.5);
    const call = await owner([{ keys: '1' }, { keys: '5' }, { keys: '777#' }]);
    expect(call.played).toContain('no-such-mailbox');
  });

  it('call back (2) transfers to the caller', async () => {
    await k.deposit('201', 1.5);
    const call = await owner([{ keys: '1' }, { keys: '2' }]);
    expect(call.transfers).toEqual(['5550001']);
    expect(await states()).toEqual(['old']);
  });

  it('call back to a number outside the dial plan says it cannot be called', async () => {
    await k.deposit('201', 1.5);
    const call = await owner([{ keys: '1' }, { keys: '2' }], (c) => {
      c.transferResult = 'not-allowed';
    });
    expect(call.transfers).toEqual(['5550001']);
    expect(call.played).toContain('number-not-allowed');
    expect(call.played).not.toContain('callback-failed');
  });

  it('call back does nothing when the number was withheld', async () => {
    await k.deposit('201', 1.5, { callerNumber: null });
    const call = await owner([{ keys: '1' }, { keys: '2' }]);
    expect(call.transfers).toEqual([]);
    expect(call.played).toContain('no-caller-number');
  });
});

describe('play on my phone', () => {
  it('plays one message with its header; 7 saves it', async () => {
    const { playMessageOnPhone } = await import('../../../server/flows/voicemail/index.ts');
    const m = await k.deposit('201', 1.5);
    const call = new FakeCall({ cues: [{ keys: '7' }] });
    await playMessageOnPhone(call, k.deps, '201', m.id, { language: 'en' });
    expect(call.played).toEqual(expect.arrayContaining(['message-from', 'audio:1500']));
    expect(await states()).toEqual(['saved']);
  });
});
