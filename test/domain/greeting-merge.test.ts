import { describe, expect, it } from 'vitest';
import {
  checkPeerGreeting,
  greetingSent,
  noteGreetingChange,
  peerGreetingWins,
  type PeerGreeting,
} from '../../server/domain/greeting-merge.ts';
import {
  greetingBody,
  greetingRemovedBody,
  readGreetingBody,
} from '../../server/peers/sync-mail.ts';

const change = (mailbox: string, kind: PeerGreeting['kind'], changedAt: number): PeerGreeting => ({
  mailbox,
  kind,
  changedAt,
  server: 'backup',
});

describe('greetings changed on a live backup', () => {
  it('keeps one change per greeting in the outbox, the last', () => {
    let outbox = noteGreetingChange([], change('alice', 'busy', 1));
    outbox = noteGreetingChange(outbox, change('bob', 'busy', 2));
    outbox = noteGreetingChange(outbox, change('alice', 'busy', 3));
    outbox = noteGreetingChange(outbox, change('alice', 'name', 4));
    expect(outbox).toEqual([
      change('bob', 'busy', 2),
      change('alice', 'busy', 3),
      change('alice', 'name', 4),
    ]);
    // Sent: gone, unless it changed again since it was read.
    expect(greetingSent(outbox, change('alice', 'busy', 3))).toHaveLength(2);
    const again = noteGreetingChange(outbox, change('alice', 'busy', 5));
    expect(greetingSent(again, change('alice', 'busy', 3))).toContainEqual(
      change('alice', 'busy', 5),
    );
  });

  it('the later change wins at the central; a tie keeps its own', () => {
    expect(peerGreetingWins(null, change('alice', 'busy', 1))).toBe(true);
    expect(peerGreetingWins({ updatedAt: 10 }, change('alice', 'busy', 11))).toBe(true);
    expect(peerGreetingWins({ updatedAt: 10 }, change('alice', 'busy', 10))).toBe(false);
    expect(peerGreetingWins({ updatedAt: 12 }, change('alice', 'busy', 11))).toBe(false);
  });

  it('refuses a change off the wire that names no mailbox, kind, time or server', () => {
    expect(checkPeerGreeting(change('alice', 'name', 5))).toEqual(change('alice', 'name', 5));
    for (const bad of [
      null,
      { ...change('alice', 'busy', 1), kind: 'holiday' },
      { ...change('alice', 'busy', 1), mailbox: '' },
      { ...change('alice', 'busy', 1), changedAt: 1.5 },
      { ...change('alice', 'busy', 1), server: '' },
      { ...change('alice', 'busy', 1), removed: false },
      { ...change('alice', 'busy', 1), removed: 'yes' },
    ])
      expect(() => checkPeerGreeting(bad)).toThrow(/a greeting change needs/);
  });

  it('carries a greeting set with its audio, and a removal as its facts alone', () => {
    const audio = Buffer.from('RIFF....WAVE a greeting');
    const set = greetingBody(change('alice', 'busy', 7), audio);
    expect(readGreetingBody(set.contentType, set.body)).toEqual({
      facts: change('alice', 'busy', 7),
      audio,
    });
    const removed = greetingRemovedBody(change('alice', 'name', 8));
    expect(readGreetingBody(removed.contentType, removed.body)).toEqual({
      facts: { ...change('alice', 'name', 8), removed: true },
      audio: null,
    });
    // A set without its audio, or a removal with audio, is refused.
    const noAudio = { ...removed, body: Buffer.from(JSON.stringify(change('alice', 'name', 8))) };
    expect(() => readGreetingBody(noAudio.contentType, noAudio.body)).toThrow(/with its audio/);
    const withAudio = greetingBody({ ...change('alice', 'name', 8), removed: true }, audio);
    expect(() => readGreetingBody(withAudio.contentType, withAudio.body)).toThrow(/without audio/);
    expect(() => readGreetingBody(removed.contentType, Buffer.from('{'))).toThrow(/not JSON/);
  });
});
