/**
 * Shared set-up for the render tests: a voicemail to render, and ways to read a message back
 * the way a mail client or imap-core does (independent decoders, not the code under test).
 */
import { createRequire } from 'node:module';
import type { Readable, Transform } from 'node:stream';
import { toneWav } from '../../server/media/tone.ts';
import type { AttachmentStorage, MimeTree } from '../../server/render/message-index.ts';
import type { RenderedMessage, VoicemailInput } from '../../server/render/voicemail-mime.ts';

process.env.DISABLE_WILD_CONFIG ??= 'true';
const require = createRequire(import.meta.url);
// libmime and libqp are what imap-core and imapflow decode with; load them from wildduck.
const fromWildduck = createRequire(require.resolve('@zone-eu/wildduck/package.json'));
const libmime = fromWildduck('libmime') as { decodeWords(s: string): string };
const libqp = fromWildduck('libqp') as { decode(s: string): Buffer };
const parseMimeTree = require('@zone-eu/wildduck/imap-core/lib/indexer/parse-mime-tree') as (
  raw: Buffer,
) => MimeTree;
const Indexer = require('@zone-eu/wildduck/imap-core/lib/indexer/indexer');
const LengthLimiter = require('@zone-eu/wildduck/imap-core/lib/length-limiter');

/** A 1-minute voicemail (960 KB) and a short one, made once. */
export const MINUTE_WAV = toneWav({ seconds: 60 });
export const SHORT_WAV = toneWav({ seconds: 0.3, frequency: 600 });

export function voicemail(
  changes: Partial<RenderedMessage> = {},
  audio: Uint8Array = MINUTE_WAV,
): VoicemailInput {
  const message: RenderedMessage = {
    id: '7c1d0f4e-2b6a-4f3c-9d8e-5a4b3c2d1e0f',
    identity: '01KAZ3N5Q8W2E4R6T8Y0V2H4J6@central',
    callerNumber: '+33612345678',
    callerName: 'Alice Martin',
    // 13:12:03 UTC is 14:12:03 in Paris (winter time).
    receivedAt: Date.UTC(2026, 10, 21, 13, 12, 3, 250),
    audio: { key: 'a1b2', format: 'wav/pcm16/8000', bytes: audio.length, durationMs: 60_000 },
    priority: 'normal',
    private: false,
    ...changes,
  };
  return {
    message,
    mailbox: {
      name: 'bob',
      extension: '201',
      fullName: 'Bob Smith',
      timeZone: 'Europe/Paris',
      email: null,
    },
    audio,
    domain: 'voicegate.local',
  };
}

/** The header fields as a reader sees them: unfolded, encoded words decoded, in order. */
export function headerFields(raw: Buffer): { name: string; value: string }[] {
  const block = raw.toString('latin1').split('\r\n\r\n', 1)[0]!;
  return block
    .replace(/\r\n(?=[ \t])/g, '')
    .split('\r\n')
    .map((line) => {
      const colon = line.indexOf(':');
      const value = line.slice(colon + 1).trim();
      return { name: line.slice(0, colon), value: libmime.decodeWords(value) };
    });
}

export function header(raw: Buffer, name: string): string | undefined {
  return headerFields(raw).find((f) => f.name.toLowerCase() === name.toLowerCase())?.value;
}

export interface Part {
  contentType: string;
  header: string[];
  /** The body as transmitted (still encoded). */
  encoded: string;
  decoded: Buffer;
}

/** The leaf parts, in order, decoded by their Content-Transfer-Encoding. */
export function leafParts(raw: Buffer): Part[] {
  const out: Part[] = [];
  const walk = (node: MimeTree): void => {
    if (node.childNodes) return node.childNodes.forEach(walk);
    const type = node.parsedHeader['content-type'] as { value: string; params: object };
    const cte = String(node.parsedHeader['content-transfer-encoding'] ?? '7bit').toLowerCase();
    const encoded = (node.body || Buffer.alloc(0)).toString('latin1');
    const decoded =
      cte === 'base64'
        ? Buffer.from(encoded, 'base64')
        : cte === 'quoted-printable'
          ? libqp.decode(encoded)
          : Buffer.from(encoded, 'latin1');
    out.push({ contentType: type.value.toLowerCase(), header: node.header, encoded, decoded });
  };
  walk(parseMimeTree(raw));
  return out;
}

/**
 * What imap-core sends for `BODY[section]<start.length>` from a stored tree: `getContents`
 * through the same LengthLimiter its response compiler uses (`imap-compile-stream.js`).
 */
export async function fetchSection(
  tree: MimeTree,
  storage: AttachmentStorage,
  section: string,
  partial?: { start: number; length: number },
): Promise<Buffer> {
  const indexer = new Indexer({ attachmentStorage: storage });
  const selector = section ? { path: section, type: 'content' } : false;
  const value = indexer.getContents(tree, selector, {
    startFrom: partial?.start,
    maxLength: partial?.length,
  }) as
    string | { type: 'stream'; value: Readable & { isLimited: boolean }; expectedLength: number };
  if (typeof value === 'string') {
    const all = Buffer.from(value, 'binary');
    return partial ? all.subarray(partial.start, partial.start + partial.length) : all;
  }
  const start = partial?.start ?? 0;
  const expected = partial
    ? Math.min(value.expectedLength, start + partial.length)
    : value.expectedLength;
  const limiter: Transform = value.value.isLimited
    ? new LengthLimiter(expected - start, ' ', 0)
    : new LengthLimiter(expected, ' ', start);
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    value.value.once('error', reject);
    limiter.on('data', (chunk: Buffer) => chunks.push(chunk));
    limiter.once('end', () => resolve(Buffer.concat(chunks)));
    value.value.pipe(limiter);
  });
}
