import { MimeNode } from '@zone-eu/mailsplit';
import { decodeBase64Body, decodedSizeAtMost } from './base64-body.ts';

/**
 * The usual voicemail mail is a short text part and one base64 WAV. Parsing it whole with
 * mailparser costs 20 to 30 ms of CPU per megabyte, nearly all in reading the attachment line by
 * line; ten times the cost of the deposit itself. This finds the parts of the usual mail with
 * native byte searches for its boundaries (RFC 2046 5.1.1), reads each part's header with
 * mailsplit's header parser (the one mailparser is built on), and decodes the first WAV part in
 * one native call. Anything else (that WAV part in another transfer encoding, an embedded
 * message before it, a boundary that never closes) answers null and the caller uses the full
 * parser, so both paths pick the same audio.
 */
export interface WavPart {
  /** The root header block, blank line included: the caller reads it with mailparser. */
  header: Buffer;
  audio: Uint8Array;
}

const WAV_TYPES = new Set(['audio/wav', 'audio/x-wav', 'audio/wave', 'audio/vnd.wave']);
/** Nested multiparts followed before giving the mail to the full parser. */
const MAX_DEPTH = 4;

/** The attachment test of the full path (voicemail-mail.ts), on a part's type and file name. */
export function isWavNode(contentType: string, filename: string | false): boolean {
  return WAV_TYPES.has(contentType.toLowerCase()) || /\.wav$/i.test(filename || '');
}

/**
 * The usual mail's root header and audio, or null when the full parser must decide. The audio
 * is decoded into a buffer from `audioBuffer` (given the most it may take), else a new one.
 */
export function findWavPart(
  raw: Buffer,
  audioBuffer: (bytes: number) => Buffer = (bytes) => Buffer.allocUnsafe(bytes),
): WavPart | null {
  const root = readPart(raw, 0, raw.length);
  if (!root) return null;
  const base64 = firstWav(raw, root, 0);
  if (!base64 || base64 === NOT_HERE) return null;
  const audio = decodeBase64Body(base64, audioBuffer(decodedSizeAtMost(base64.length)));
  return {
    header: raw.subarray(0, root.bodyStart),
    audio: new Uint8Array(audio.buffer, audio.byteOffset, audio.length),
  };
}

interface Part {
  node: MimeNode;
  bodyStart: number;
  end: number;
}

/** A part's header parsed, and where its body lies; null without a header/body separator. */
function readPart(raw: Buffer, start: number, end: number): Part | null {
  const node = new MimeNode();
  // A part may have no header at all: its body starts after the empty line.
  const empty = raw[start] === 0x0d && raw[start + 1] === 0x0a ? 2 : raw[start] === 0x0a ? 1 : 0;
  if (empty) {
    node.parseHeaders();
    return { node, bodyStart: start + empty, end };
  }
  // Searched within the part only, so many small parts cost one pass over the mail; a bare-LF
  // separator only before the CRLF one, so a CRLF mail is not searched to its end for "\n\n".
  const within = raw.subarray(start, end);
  const crlf = within.indexOf('\r\n\r\n');
  const lf = (crlf === -1 ? within : within.subarray(0, crlf + 2)).indexOf('\n\n');
  const [at, width] =
    crlf !== -1 && (lf === -1 || crlf < lf) ? [crlf, 4] : lf !== -1 ? [lf, 2] : [-1, 0];
  if (at === -1) return null;
  const sep = start + at;
  node.addHeaderChunk(raw.subarray(start, sep + width));
  node.parseHeaders();
  return { node, bodyStart: sep + width, end };
}

/**
 * The base64 text of the first WAV leaf in document order, or null when that leaf is not base64
 * or something before it is beyond this reader.
 */
function firstWav(raw: Buffer, part: Part, depth: number): Buffer | null {
  const { node } = part;
  if (node.rfc822) return null;
  if (!node.multipart) {
    if (!isWavNode(node.contentType || '', node.filename)) return NOT_HERE;
    return node.encoding === 'base64' ? raw.subarray(part.bodyStart, part.end) : null;
  }
  const boundary = node._boundary;
  if (!boundary || depth >= MAX_DEPTH) return null;
  const children = childRanges(raw, Buffer.concat([Buffer.from('--'), boundary]), part);
  if (!children) return null;
  for (const [start, end] of children) {
    const child = readPart(raw, start, end);
    if (!child) return null;
    const found = firstWav(raw, child, depth + 1);
    if (found !== NOT_HERE) return found;
  }
  return NOT_HERE;
}

/** Marks a subtree without a WAV leaf, so the search goes on to the next sibling. */
const NOT_HERE = Buffer.alloc(0);

/**
 * The byte ranges of a multipart's body parts: between delimiter lines (`--boundary` at a line's
 * start, then only transport padding), up to the close delimiter (`--boundary--`). A delimiter's
 * preceding line break belongs to it. Null when the close delimiter is missing.
 */
function childRanges(raw: Buffer, delimiter: Buffer, part: Part): [number, number][] | null {
  const ranges: [number, number][] = [];
  let from = part.bodyStart;
  let open = -1;
  for (;;) {
    const at = raw.indexOf(delimiter, from);
    if (at === -1 || at >= part.end) return null;
    from = at + delimiter.length;
    const lineStart = at === part.bodyStart || raw[at - 1] === 0x0a;
    if (!lineStart) continue;
    const close = raw[from] === 0x2d && raw[from + 1] === 0x2d;
    let next = close ? from + 2 : from;
    while (raw[next] === 0x20 || raw[next] === 0x09) next++;
    if (!close && raw[next] === 0x0d) next++;
    if (!close && raw[next] !== 0x0a) continue;
    const before = at - (raw[at - 2] === 0x0d ? 2 : 1);
    if (open !== -1) ranges.push([open, before]);
    if (close) return ranges;
    open = next + 1;
  }
}
