/**
 * "Parse once" for IMAP FETCH: a rendered voicemail is indexed with imap-core's own indexer
 * (the same code that later answers FETCH from the index), and the audio part's body is
 * taken out of the tree. The stored WAV stays the only copy of the audio; the attachment
 * storage below re-creates its base64 body, byte for byte, for whatever range FETCH asks.
 */
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import v8 from 'node:v8';
import { VoicegateError } from '../domain/errors.ts';
import type { AudioStore } from '../domain/ports.ts';

// wild-config runs when parts of @zone-eu/wildduck are required and exits the process when
// it finds no config; the indexer does not load it today, but this may be the first module
// to touch the package, so the default is set before anything is required from it.
process.env.DISABLE_WILD_CONFIG ??= 'true';

/** A node of imap-core's parsed MIME tree (`parse-mime-tree.js`), as far as we use it. */
export interface MimeTree {
  header: string[];
  parsedHeader: Record<string, unknown>;
  childNodes?: MimeTree[];
  body?: Buffer | false;
  size?: number;
  /** Set on the audio part once its body is externalized (`ATT00001`). */
  attachmentId?: string;
  /** On the root: imap-core's attachment id -> the audio key the storage reads. */
  attachmentMap?: Record<string, string>;
  [key: string]: unknown;
}

interface ExternalNode {
  attachmentId: string;
  contentType: string;
  transferEncoding: string;
  body: Buffer;
}

interface ImapIndexer {
  parseMimeTree(raw: Buffer): MimeTree;
  getSize(tree: MimeTree): number;
  getEnvelope(tree: MimeTree): unknown[];
  getBodyStructure(tree: MimeTree): unknown[];
  getMaildata(tree: MimeTree): { nodes: ExternalNode[] };
}

const require = createRequire(import.meta.url);
const Indexer = require('@zone-eu/wildduck/imap-core/lib/indexer/indexer') as new () => ImapIndexer;
const indexer = new Indexer();

export interface IndexedMessage {
  /** RFC822.SIZE, from imap-core's `getSize` (equal to the rendered length). */
  size: number;
  envelope: unknown[];
  bodystructure: unknown[];
  /** The tree FETCH answers from; the audio body is replaced by `attachmentId`. */
  tree: MimeTree;
}

/** Bumped when the stored shape changes, so an old index is rebuilt instead of misread. */
const INDEX_VERSION = 1;
/** 76 base64 characters (57 input bytes) and CRLF per line, as the renderer writes them. */
const LINE_CHARS = 76;
const LINE_BYTES = 57;
const LINE_SPAN = LINE_CHARS + 2;
/** Lines encoded per chunk when streaming: about 80 KB out, one read of 57 KB in. */
const CHUNK_LINES = 1024;

/** Length of the base64 body of `n` bytes: no line break after the last line. */
function base64BodyLength(n: number): number {
  if (n <= 0) return 0;
  const chars = Math.ceil(n / 3) * 4;
  return chars + 2 * (Math.ceil(chars / LINE_CHARS) - 1);
}

/** Base64 of whole lines starting at a line boundary, with CRLF after each line. */
function encodeLines(bytes: Uint8Array, lastOfBody: boolean): Buffer {
  const b64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  const lines: string[] = [];
  for (let at = 0; at < b64.length; at += LINE_CHARS) lines.push(b64.slice(at, at + LINE_CHARS));
  return Buffer.from(lines.join('\r\n') + (lastOfBody ? '' : '\r\n'), 'latin1');
}

/**
 * Indexes a rendered voicemail. Its one attachment (the audio, base64) is externalized and
 * mapped to `audioKey`; the body is checked to be exactly what the storage re-creates from
 * the decoded bytes, so a renderer change can't silently corrupt later FETCHes.
 */
export function indexMessage(raw: Buffer, audioKey: string): IndexedMessage {
  const tree = indexer.parseMimeTree(raw);
  const size = indexer.getSize(tree);
  const envelope = indexer.getEnvelope(tree);
  const bodystructure = indexer.getBodyStructure(tree);
  const { nodes } = indexer.getMaildata(tree);
  const node = nodes[0];
  if (nodes.length !== 1 || !node || !node.contentType.startsWith('audio/')) {
    throw new VoicegateError(
      'INTERNAL',
      'a voicemail must have exactly one part to externalize, the audio',
    );
  }
  const decoded = Buffer.from(node.body.toString('latin1'), 'base64');
  if (node.transferEncoding !== 'base64' || !encodeLines(decoded, true).equals(node.body)) {
    throw new VoicegateError('INTERNAL', 'the audio part is not base64 in 76-character lines');
  }
  tree.attachmentMap = { [node.attachmentId]: audioKey };
  return { size, envelope, bodystructure, tree };
}

/** v8 keeps the Buffers of the tree intact; JSON would turn them into objects. */
export function serializeIndex(index: IndexedMessage): Buffer {
  return v8.serialize({ v: INDEX_VERSION, ...index });
}

export function deserializeIndex(bytes: Uint8Array): IndexedMessage {
  const data = v8.deserialize(bytes) as Partial<IndexedMessage> & { v?: number };
  if (data.v !== INDEX_VERSION || typeof data.size !== 'number' || !data.tree) {
    throw new VoicegateError('INTERNAL', `not a message index of version ${INDEX_VERSION}`);
  }
  const { size, envelope, bodystructure, tree } = data as IndexedMessage;
  return { size, envelope, bodystructure, tree };
}

/**
 * Where the WAV bytes of an audio key are. From the audio store, each FETCH reads only the
 * bytes behind the range it sends (clients fetch large parts in chunks); a function returns
 * the whole audio.
 */
export type AudioSource =
  ((key: string) => Promise<Uint8Array>) | Pick<AudioStore, 'size' | 'stream'>;

interface RangeReader {
  length: number;
  read(start: number, end: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

async function openAudio(source: AudioSource, key: string): Promise<RangeReader> {
  if (typeof source === 'function') {
    const bytes = await source(key);
    return {
      length: bytes.byteLength,
      read: async (start, end) => bytes.subarray(start, end),
      close: async () => {},
    };
  }
  const size = await source.size(key);
  // FETCH reads one range after the other: one stream from the first byte asked to the end
  // serves them all, and a read elsewhere starts a new one.
  let stream: Readable | null = null;
  let chunks: AsyncIterator<Buffer> | null = null;
  let at = 0;
  let left: Buffer = Buffer.alloc(0);
  const restart = async (start: number): Promise<void> => {
    stream?.destroy();
    stream = await source.stream(key, { start, end: size - 1 });
    chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    at = start;
    left = Buffer.alloc(0);
  };
  return {
    length: size,
    read: async (start, end) => {
      if (end <= start) return new Uint8Array(0);
      if (!chunks || start !== at) await restart(start);
      const parts: Buffer[] = [left];
      let have = left.length;
      while (have < end - start) {
        const next = await chunks!.next();
        if (next.done) break; // the audio ended early
        parts.push(next.value);
        have += next.value.length;
      }
      const all = Buffer.concat(parts);
      const out = all.subarray(0, end - start);
      left = all.subarray(out.length);
      at = start + out.length;
      return out;
    },
    close: async () => {
      stream?.destroy();
    },
  };
}

/** The encoded bytes [from, to) of the body, encoding only the lines that hold them. */
async function* encodedRange(
  reader: RangeReader,
  from: number,
  to: number,
): AsyncGenerator<Buffer> {
  const lastLine = Math.ceil(reader.length / LINE_BYTES) - 1;
  const endLine = Math.floor((to - 1) / LINE_SPAN);
  for (let line = Math.floor(from / LINE_SPAN); line <= endLine; line += CHUNK_LINES) {
    const last = Math.min(endLine, line + CHUNK_LINES - 1);
    const bytes = await reader.read(
      line * LINE_BYTES,
      Math.min(reader.length, (last + 1) * LINE_BYTES),
    );
    const block = encodeLines(bytes, last === lastLine);
    const at = line * LINE_SPAN;
    yield block.subarray(Math.max(0, from - at), Math.min(block.length, to - at));
  }
}

/** The encoded body [start, start + max) (max 0 = to the end), counting what it sends. */
function audioStream(source: AudioSource, key: string, start: number, max: number) {
  const counted = async function* (): AsyncGenerator<Buffer> {
    let reader: RangeReader;
    try {
      reader = await openAudio(source, key);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      throw new VoicegateError('NOT_FOUND', 'audio is missing', { cause: err });
    }
    try {
      const size = base64BodyLength(reader.length);
      const end = max ? Math.min(size, start + max) : size;
      if (start >= end) return;
      for await (const chunk of encodedRange(reader, start, end)) {
        stream.outputBytes += chunk.length;
        yield chunk;
      }
    } finally {
      await reader.close();
    }
  };
  const stream = Object.assign(Readable.from(counted(), { objectMode: false }), { outputBytes: 0 });
  return stream;
}

export interface AttachmentStorage {
  get(id: string): Promise<{ metadata: { decoded: false } }>;
  createReadStream(
    id: string,
    data: unknown,
    bounds?: { startFrom?: number; maxLength?: number },
  ): Readable & { outputBytes: number };
}

/**
 * imap-core's attachment storage over the audio files; ids are audio keys. `decoded: false`
 * makes imap-core take the part's length from the tree. `createReadStream` must honour
 * `startFrom` and `maxLength` (0 = to the end) itself, since imap-core pipes it straight to
 * the client, and report what it sent in `outputBytes`, which imap-core counts on. A missing
 * file fails the FETCH (NOT_FOUND) instead of imap-core's silent padding for ENOENT, so no
 * client caches a message with a blank recording.
 */
export function audioAttachmentStorage(source: AudioSource): AttachmentStorage {
  return {
    get: async () => ({ metadata: { decoded: false } }),
    createReadStream: (id, _data, bounds = {}) =>
      audioStream(
        source,
        id,
        Math.max(0, Number(bounds.startFrom) || 0),
        Math.max(0, Number(bounds.maxLength) || 0),
      ),
  };
}
