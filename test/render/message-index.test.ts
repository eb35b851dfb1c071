import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isVoicegateError } from '../../server/domain/errors.ts';
import {
  audioAttachmentStorage,
  deserializeIndex,
  indexMessage,
  serializeIndex,
} from '../../server/render/message-index.ts';
import { renderVoicemail } from '../../server/render/voicemail-mime.ts';
import { openStore } from '../../server/store/open-store.ts';
import { fetchSection, leafParts, MINUTE_WAV, SHORT_WAV, voicemail } from './mime-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'voicegate-render-'));
const opened = await openStore({ store: { backend: 'sqlite' }, dataDir: dir });
afterAll(async () => {
  await opened.close();
  rmSync(dir, { recursive: true, force: true });
});
/** The server's audio store, its audio named here for what it holds ('gone' is not there). */
const keys: Record<string, string> = {
  minute: await opened.audio.put(MINUTE_WAV),
  short: await opened.audio.put(SHORT_WAV),
};
const keyOf = (name: string): string => keys[name] ?? '00000000-0000-4000-8000-000000000000';
const files = audioAttachmentStorage({
  size: (name) => opened.audio.size(keyOf(name)),
  stream: (name, range) => opened.audio.stream(keyOf(name), range),
});

const raw = await renderVoicemail(voicemail());
const index = deserializeIndex(serializeIndex(indexMessage(raw, 'minute')));
const audioPart = leafParts(raw)[2]!;
/** Where the audio's base64 starts in the message. */
const audioStart = raw.indexOf(audioPart.encoded.slice(0, 76));

describe('indexMessage', () => {
  it('gives the rendered length as RFC822.SIZE', () => {
    expect(index.size).toBe(raw.length);
  });

  it('keeps a small tree that does not hold the audio', () => {
    const stored = serializeIndex(indexMessage(raw, 'minute'));
    expect(stored.length).toBeLessThan(8 * 1024);
    expect(stored.includes(audioPart.encoded.slice(0, 76))).toBe(false);
    expect(index.tree.attachmentMap).toEqual({ ATT00001: 'minute' });
  });

  it('round-trips through serializeIndex with Buffers intact', () => {
    const fresh = indexMessage(raw, 'minute');
    expect(index).toEqual(fresh);
    expect(Buffer.isBuffer(index.tree.childNodes![0]!.childNodes![0]!.body)).toBe(true);
    expect(() => deserializeIndex(Buffer.from('{}'))).toThrow();
  });

  it('describes the message as imap-core would from the raw bytes', () => {
    const [date, subject] = index.envelope as [string, Buffer];
    expect(date).toBe('Sat, 21 Nov 2026 14:12:03 +0100');
    expect(subject.toString()).toMatch(/^Voicemail Message \(Alice Martin/);
    const [alternative, audio, subtype] = index.bodystructure as unknown[][];
    expect(subtype).toBe('MIXED');
    expect(alternative!.at(-5)).toBe('ALTERNATIVE');
    expect(audio!.slice(0, 2)).toEqual(['AUDIO', 'WAV']);
    expect(audio![6]).toBe(audioPart.encoded.length);
  });

  it('refuses a message whose audio part the storage could not re-create', () => {
    const lf = Buffer.from(raw.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    expect(() => indexMessage(lf, 'x')).not.toThrow(); // line ends are normalized to CRLF
    // One 152-character line: valid base64, but not what the storage writes.
    const cut = audioStart + 76;
    const long = Buffer.concat([raw.subarray(0, cut), raw.subarray(cut + 2)]);
    expect(() => indexMessage(long, 'x')).toThrow(/76-character lines/);
    expect(() => indexMessage(Buffer.from('Subject: hi\r\n\r\nhello\r\n'), 'x')).toThrow(
      /exactly one part/,
    );
  });
});

describe('FETCH from the index and the audio file', () => {
  it('returns BODY[] exactly as rendered, from a file or from bytes', async () => {
    expect((await fetchSection(index.tree, files, '')).equals(raw)).toBe(true);
    const bytes = audioAttachmentStorage(async () => MINUTE_WAV);
    expect((await fetchSection(index.tree, bytes, '')).equals(raw)).toBe(true);
  });

  it('returns BODY[2] as the encoded audio part and BODY[1.1] as the text', async () => {
    const body2 = await fetchSection(index.tree, files, '2');
    expect(body2.toString('latin1')).toBe(audioPart.encoded);
    const text = await fetchSection(index.tree, files, '1.1');
    expect(text.toString('latin1')).toBe(leafParts(raw)[0]!.encoded);
  });

  it('returns partial BODY[]<start.length> at any offset, across lines and at the end', async () => {
    const size = raw.length;
    const starts = [0, 1, audioStart - 3, audioStart, audioStart + 1, size - 200, size - 1];
    for (let i = 0; i < 8; i++) starts.push(audioStart + 75 + i, audioStart + 78 * 1023 + i);
    for (let i = 1; i < 12; i++) starts.push(Math.floor((size * i) / 12) + i);
    const lengths = [1, 2, 76, 78, 79, 1000, 65_536, 250_000, size];
    for (const start of starts) {
      for (const length of lengths) {
        const got = await fetchSection(index.tree, files, '', { start, length });
        expect(got.equals(raw.subarray(start, start + length)), `<${start}.${length}>`).toBe(true);
      }
    }
  });

  it('returns partial BODY[2]<start.length>, as clients fetch large parts in chunks', async () => {
    const part = Buffer.from(audioPart.encoded, 'latin1');
    const starts = [0, 1, 75, 76, 77, 78, 79, 155, 156, 157, 57 * 1024, part.length - 78];
    starts.push(part.length - 3, part.length - 1);
    for (const start of starts) {
      for (const length of [1, 2, 3, 76, 77, 78, 4096, 65_536, part.length]) {
        const got = await fetchSection(index.tree, files, '2', { start, length });
        expect(got.equals(part.subarray(start, start + length)), `<${start}.${length}>`).toBe(true);
      }
    }
    // Chunked the way Thunderbird does it: consecutive pieces rebuild the part.
    const pieces: Buffer[] = [];
    for (let at = 0; at < part.length; at += 65_536) {
      pieces.push(await fetchSection(index.tree, files, '2', { start: at, length: 65_536 }));
    }
    expect(Buffer.concat(pieces).equals(part)).toBe(true);
  });

  it('works for a short message whose audio fits in a few lines', async () => {
    const short = await renderVoicemail(voicemail({ id: 'short-one' }, SHORT_WAV));
    const tree = indexMessage(short, 'short').tree;
    expect((await fetchSection(tree, files, '')).equals(short)).toBe(true);
    for (let start = short.length - 400; start < short.length; start += 7) {
      const got = await fetchSection(tree, files, '', { start, length: 50 });
      expect(got.equals(short.subarray(start, start + 50))).toBe(true);
    }
  });

  it('encodes only the lines a small range needs', async () => {
    const reads: number[] = [];
    const spy = audioAttachmentStorage(
      async () =>
        ({
          byteLength: MINUTE_WAV.byteLength,
          subarray: (start: number, end: number) => {
            reads.push(end - start);
            return MINUTE_WAV.subarray(start, end);
          },
        }) as unknown as Uint8Array,
    );
    const got = await fetchSection(index.tree, spy, '2', { start: 500_000, length: 100 });
    expect(got.toString('latin1')).toBe(audioPart.encoded.slice(500_000, 500_100));
    expect(reads).toEqual([2 * 57]);
  });

  it("serves straight from the server's audio store", async () => {
    const tree = indexMessage(raw, keys.minute!).tree;
    const storage = audioAttachmentStorage(opened.audio);
    expect((await fetchSection(tree, storage, '')).equals(raw)).toBe(true);
    const piece = await fetchSection(tree, storage, '2', { start: 300_001, length: 999 });
    expect(piece.toString('latin1')).toBe(audioPart.encoded.slice(300_001, 301_000));
  });

  it('fails the FETCH when the audio file is missing instead of sending blanks', async () => {
    const missing = indexMessage(raw, 'gone').tree;
    const err = await fetchSection(missing, files, '').catch((e: unknown) => e);
    expect(isVoicegateError(err, 'NOT_FOUND')).toBe(true);
  });
});
