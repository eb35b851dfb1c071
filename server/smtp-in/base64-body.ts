/**
 * Decodes a base64 body (RFC 2045 6.8) in slices of whole lines, into one buffer. Decoding the
 * body as one string made a string as long as the body outside V8's heap (Node keeps a latin1
 * string over about 1 MB as an external one): a megabyte and more of external memory per mail,
 * which V8 counts toward the heap's limit, so that every few mails it started a full collection.
 * A slice of a few dozen kilobytes is an ordinary young-generation string, gone at the next
 * scavenge.
 *
 * A slice holds whole lines of the first line's length (a multiple of 4, so a slice ends on a
 * group of four characters), each line break where that length puts it, and must decode to three
 * bytes for every four characters: only then is it decoded exactly as the whole body would be.
 * Anything else (lines of other lengths, a character outside the alphabet, padding before the
 * end) is decoded in one string, as before.
 */

/** Characters per slice at most: far below V8's large-object size, so young-generation strings. */
const SLICE_CHARS = 32 * 1024;
const LF = 0x0a;
const CR = 0x0d;

/** Three bytes per four characters, line breaks counted as characters: room for any body. */
export function decodedSizeAtMost(textBytes: number): number {
  return Math.ceil(textBytes / 4) * 3;
}

/**
 * The bytes of a base64 body (line breaks and what else Buffer's decoder skips, skipped), written
 * to the start of `out` (at least decodedSizeAtMost bytes): the part of `out` they fill.
 */
export function decodeBase64Body(
  text: Buffer,
  out: Buffer = Buffer.allocUnsafe(decodedSizeAtMost(text.length)),
): Buffer {
  const firstLf = text.indexOf(LF);
  const eol = firstLf > 0 && text[firstLf - 1] === CR ? 2 : 1;
  const line = firstLf - (eol - 1);
  const stride = line + eol;
  const linesPerSlice = Math.floor(SLICE_CHARS / stride);
  if (firstLf === -1 || line === 0 || line % 4 !== 0 || linesPerSlice === 0)
    return whole(text, out);
  const sliceBytes = linesPerSlice * stride;
  const sliceDecoded = (linesPerSlice * line * 3) / 4;
  let at = 0;
  let written = 0;
  for (; at + sliceBytes <= text.length; at += sliceBytes) {
    if (!breaksInPlace(text, at, linesPerSlice, line, eol)) return whole(text, out);
    if (out.write(text.toString('latin1', at, at + sliceBytes), written, 'base64') !== sliceDecoded)
      return whole(text, out);
    written += sliceDecoded;
  }
  if (at < text.length) written += out.write(text.toString('latin1', at), written, 'base64');
  return out.subarray(0, written);
}

function whole(text: Buffer, out: Buffer): Buffer {
  return out.subarray(0, out.write(text.toString('latin1'), 0, 'base64'));
}

/** Each of `lines` lines from `at` is `line` characters and then its line break. */
function breaksInPlace(
  text: Buffer,
  at: number,
  lines: number,
  line: number,
  eol: number,
): boolean {
  for (let k = 0, lf = at + line + eol - 1; k < lines; k++, lf += line + eol) {
    if (text[lf] !== LF || (eol === 2 && text[lf - 1] !== CR)) return false;
  }
  return true;
}
