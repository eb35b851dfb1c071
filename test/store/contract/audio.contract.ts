import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AudioStore } from '../../../server/domain/ports.ts';
import { addMailbox, codeOf, deposit } from './fixtures.ts';
import type { OpenedStore } from './opened-store.ts';

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** 300 KB that differ everywhere, so a range off by one shows. */
const BYTES = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7 + (i >> 8)) & 0xff));
const MISSING = '00000000-0000-4000-8000-000000000000';

export function audioContract(open: () => Promise<OpenedStore>): void {
  describe('audio', () => {
    let opened: OpenedStore;
    let audio: AudioStore;
    beforeEach(async () => {
      opened = await open();
      audio = opened.audio;
    });
    afterEach(() => opened.close());

    it('stores bytes under a new key and gives them back whole', async () => {
      const key = await audio.put(BYTES);
      const other = await audio.put(BYTES);
      expect(other).not.toBe(key);
      expect((await audio.read(key)).equals(BYTES)).toBe(true);
      expect(await audio.size(key)).toBe(BYTES.length);
      expect((await bytesOf(await audio.stream(key))).equals(BYTES)).toBe(true);
    });

    it('streams inclusive byte ranges, clipped at the end', async () => {
      const key = await audio.put(BYTES);
      for (const [start, end] of [
        [0, 0],
        [0, 99],
        [1, 65_537],
        [123_456, 234_567],
        [BYTES.length - 1, BYTES.length - 1],
      ] as const) {
        const got = await bytesOf(await audio.stream(key, { start, end }));
        expect(got.equals(BYTES.subarray(start, end + 1)), `bytes ${start}-${end}`).toBe(true);
      }
      const tail = await bytesOf(await audio.stream(key, { start: 299_990, end: 400_000 }));
      expect(tail.equals(BYTES.subarray(299_990))).toBe(true);
    });

    it('has audio durable once put returns: another opened store reads it', async () => {
      const key = await audio.put(BYTES);
      const second = await opened.reopen();
      try {
        expect((await second.audio.read(key)).equals(BYTES)).toBe(true);
      } finally {
        await second.close();
      }
    });

    it('removes audio; missing audio is NOT_FOUND to every read, and removing it again is no error', async () => {
      const key = await audio.put(BYTES);
      const kept = await audio.put(new Uint8Array([1, 2, 3]));
      await audio.remove([key]);
      expect(await codeOf(audio.read(key))).toBe('NOT_FOUND');
      expect(await codeOf(audio.size(key))).toBe('NOT_FOUND');
      expect(await codeOf(audio.stream(key, { start: 0, end: 10 }))).toBe('NOT_FOUND');
      expect(await codeOf(audio.read(MISSING))).toBe('NOT_FOUND');
      await audio.remove([key, MISSING]);
      expect([...(await audio.read(kept))]).toEqual([1, 2, 3]);
    });

    it('never removes audio a message names: a caller that heard an error may not know it committed', async () => {
      const named = await audio.put(BYTES);
      const loose = await audio.put(new Uint8Array([4, 5, 6]));
      const alice = await addMailbox(opened.store, 'alice');
      await deposit(opened.store, alice.id, named);
      await audio.remove([named, loose]);
      expect((await audio.read(named)).equals(BYTES)).toBe(true);
      expect(await codeOf(audio.read(loose))).toBe('NOT_FOUND');
    });
  });
}
