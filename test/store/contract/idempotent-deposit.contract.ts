/**
 * Idempotent deposits, as every store back end must keep them: a voicemail deposited into a
 * mailbox under an identity it was deposited under before (a retried SMTP delivery, a peer's
 * resend) adds nothing, in the transaction that would have stored it.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewMessage } from '../../../server/domain/message.ts';
import type { NewDelivery } from '../../../server/domain/delivery.ts';
import type { NewMailbox, VoicemailStore } from '../../../server/domain/ports.ts';
import { toneWav } from '../../../server/media/tone.ts';
import { newMailbox } from './fixtures.ts';
import type { OpenedStore } from './opened-store.ts';

const HOUR = 3_600_000;

function mailbox(name: string): NewMailbox {
  return { ...newMailbox(name), email: `${name}@example.com` };
}

export function idempotentDepositContract(open: () => Promise<OpenedStore>): void {
  describe('idempotent deposits', () => {
    let opened: OpenedStore;
    let store: VoicemailStore;
    let alice: number;
    let bob: number;
    let audioKey: string;

    beforeEach(async () => {
      opened = await open();
      store = opened.store;
      alice = (await store.createMailbox(mailbox('alice'))).id;
      bob = (await store.createMailbox(mailbox('bob'))).id;
      audioKey = await opened.audio.put(toneWav({ seconds: 1 }));
    });
    afterEach(() => opened.close());

    /** One copy of a voicemail, as a channel deposits it: its own id, the shared identity. */
    function copy(mailboxId: number, identity: string, audio = audioKey): NewMessage {
      return {
        id: randomUUID(),
        identity,
        mailboxId,
        kind: 'message',
        callerNumber: '+15551234567',
        callerName: 'Dana',
        receivedAt: 1_000,
        audio: { key: audio, format: 'wav/pcm16/8000', bytes: 16_044, durationMs: 1_000 },
        priority: 'normal',
        private: false,
        originServer: 'site-a',
        forwardedFrom: null,
      };
    }

    function mailOf(m: NewMessage, kind: NewDelivery['kind']): NewDelivery {
      return {
        target: 'smtp',
        voicemailId: m.id,
        identity: m.identity,
        callerNumber: m.callerNumber,
        callerName: m.callerName,
        receivedAt: m.receivedAt,
        audio: m.audio,
        priority: m.priority,
        private: m.private,
        kind,
        mailboxId: m.mailboxId,
        recipient: 'alice@example.com',
        messageId: kind === 'forward' ? null : m.id,
      };
    }

    it('stores a voicemail once: a resend returns the stored message and adds nothing', async () => {
      const first = copy(alice, '01KAZ3N5Q8W2E4R6T8Y0V2H4J6@site-a');
      const stored = await store.addMessages([first], 1_000);
      expect(stored).toEqual({
        messages: [expect.objectContaining({ id: first.id })],
        repeated: 0,
        unusedAudio: [],
      });
      const modseq = await store.highestModseq(alice);
      const snapshot = await store.folderSnapshot(alice, 'inbox');

      const again = await store.addMessages([copy(alice, first.identity)], 2_000);
      expect(again.messages).toEqual(stored.messages);
      expect(again.repeated).toBe(1);
      expect(await store.listMessages(alice)).toEqual(stored.messages);
      // Nothing happened to the mailbox: no journal entry, no UID taken.
      expect(await store.highestModseq(alice)).toBe(modseq);
      expect(await store.folderSnapshot(alice, 'inbox')).toEqual(snapshot);
    });

    it('scopes an identity to its mailbox: the same one elsewhere is another deposit', async () => {
      const identity = 'CAF+x7=1@mail.example.com';
      await store.addMessages([copy(alice, identity)], 1_000);
      const elsewhere = await store.addMessages([copy(bob, identity)], 1_000);
      expect(elsewhere.repeated).toBe(0);
      expect(await store.listMessages(alice)).toHaveLength(1);
      expect(await store.listMessages(bob)).toEqual(elsewhere.messages);
    });

    it('stores one of many concurrent deposits of one voicemail, and every caller gets it', async () => {
      const identity = '01KAZ3N5Q8W2E4R6T8Y0V2H4J7@site-a';
      const results = await Promise.all(
        Array.from({ length: 20 }, () => store.addMessages([copy(alice, identity)], 1_000)),
      );
      const kept = await store.listMessages(alice);
      expect(kept).toHaveLength(1);
      expect(results.filter((r) => r.repeated === 0)).toHaveLength(1);
      for (const r of results) expect(r.messages.map((m) => m.id)).toEqual([kept[0]!.id]);
    });

    it('adds the new copies of a broadcast and skips those deposited before', async () => {
      const identity = '01KAZ3N5Q8W2E4R6T8Y0V2H4J8@site-a';
      const [old] = (await store.addMessages([copy(alice, identity)], 1_000)).messages;
      const result = await store.addMessages([copy(alice, identity), copy(bob, identity)], 2_000);
      expect(result.repeated).toBe(1);
      expect(result.messages.map((m) => m.mailboxId).sort()).toEqual([alice, bob].sort());
      expect(result.messages).toContainEqual(old);
      expect(await store.listMessages(alice)).toHaveLength(1);
      expect(await store.listMessages(bob)).toHaveLength(1);
    });

    it('does not queue the mails of a repeated deposit, nor a forward sent before', async () => {
      const kept = copy(alice, '01KAZ3N5Q8W2E4R6T8Y0V2H4J9@site-a');
      await store.addMessages([kept], 1_000, [mailOf(kept, 'copy')]);
      const resent = copy(alice, kept.identity);
      await store.addMessages([resent], 2_000, [mailOf(resent, 'copy')]);
      expect(
        (await store.listDeliveries()).map((m) => (m.kind === 'notice' ? null : m.messageId)),
      ).toEqual([kept.id]);

      // A forward keeps no message: the deposit alone remembers it, also once the mail is sent.
      const forward = copy(bob, '01KAZ3N5Q8W2E4R6T8Y0V2H4JA@site-a');
      await store.addMessages([], 1_000, [mailOf(forward, 'forward')]);
      const queued = (await store.listDeliveries()).find((m) => m.kind === 'forward')!;
      expect(queued).toMatchObject({ identity: forward.identity, mailboxId: bob });
      const audio = await opened.audio.put(toneWav({ seconds: 1, frequency: 500 }));
      const again = await store.addMessages([], 2_000, [
        mailOf(copy(bob, forward.identity, audio), 'forward'),
      ]);
      expect(again).toEqual({ messages: [], repeated: 1, unusedAudio: [audio] });
      // Sent: claimed and completed by its worker, so it leaves the queue.
      const claimed = await store.claimDeliveries({
        target: 'smtp',
        holder: 'w1',
        now: Date.now(),
        leaseMs: 60_000,
        limit: 10,
      });
      expect(claimed.map((d) => d.id)).toContain(queued.id);
      await store.completeDelivery(queued.id, 'w1');
      const later = await store.addMessages([], 3_000, [
        mailOf(copy(bob, forward.identity), 'forward'),
      ]);
      expect(later.repeated).toBe(1);
      expect((await store.listDeliveries()).filter((m) => m.kind === 'forward')).toEqual([]);
      expect(await store.listMessages(bob)).toEqual([]);
    });

    it('names the audio of a repeated deposit for removal only when nothing uses it', async () => {
      const first = copy(alice, '01KAZ3N5Q8W2E4R6T8Y0V2H4JB@site-a');
      await store.addMessages([first], 1_000);
      // The resend brought the same audio key (shared): it stays.
      expect((await store.addMessages([copy(alice, first.identity)], 2_000)).unusedAudio).toEqual(
        [],
      );
      const own = await opened.audio.put(toneWav({ seconds: 1, frequency: 700 }));
      const resend = await store.addMessages([copy(alice, first.identity, own)], 3_000);
      expect(resend.unusedAudio).toEqual([own]);
    });

    it('remembers a deposit after its message is purged, until the deposits are pruned', async () => {
      const first = copy(alice, '01KAZ3N5Q8W2E4R6T8Y0V2H4JC@site-a');
      const [stored] = (await store.addMessages([first], 1_000)).messages;
      const live = copy(alice, '01KAZ3N5Q8W2E4R6T8Y0V2H4JD@site-a');
      await store.addMessages([live], 1_000);
      await store.setState(
        stored!.id,
        stored!,
        { state: 'deleted', deletedFrom: 'new' },
        'trash',
        2_000,
      );
      await store.purgeMessages([stored!.id], 3_000);

      const resent = await store.addMessages([copy(alice, first.identity)], 4_000);
      expect(resent).toEqual({ messages: [], repeated: 1, unusedAudio: [] });
      expect((await store.listMessages(alice)).map((m) => m.identity)).toEqual([live.identity]);

      // Pruning forgets the purged one's deposit, never a stored message's.
      expect(await store.pruneDeposits(1_000 + HOUR)).toBe(1);
      expect((await store.addMessages([copy(alice, live.identity)], 5_000)).repeated).toBe(1);
      expect((await store.addMessages([copy(alice, first.identity)], 5_000)).repeated).toBe(0);
    });
  });
}
