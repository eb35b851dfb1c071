import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeBase64Body } from '../../server/smtp-in/base64-body.ts';

/** Base64 in lines of `width` characters, each ended by `eol`, as a mail carries it. */
function lines(bytes: Buffer, width: number, eol = '\r\n'): string {
  return bytes.toString('base64').replace(new RegExp(`.{${width}}`, 'g'), `$&${eol}`);
}

/** What decoding the body as one string gives: Buffer's own decoder, the reference. */
const asOneString = (text: string): Buffer => Buffer.from(text, 'base64');

function expectSame(text: string): void {
  const decoded = decodeBase64Body(Buffer.from(text, 'latin1'));
  expect(decoded.equals(asOneString(text))).toBe(true);
}

describe('a base64 body decoded in slices', () => {
  const audio = randomBytes(300_000);

  it('gives the bytes sent, in lines of 76 with CRLF or LF, 64, 4, with or without a last line break', () => {
    for (const [width, eol] of [
      [76, '\r\n'],
      [76, '\n'],
      [64, '\r\n'],
      [4, '\r\n'],
    ] as const) {
      const text = lines(audio, width, eol);
      expect(decodeBase64Body(Buffer.from(text, 'latin1')).equals(audio)).toBe(true);
      expect(decodeBase64Body(Buffer.from(`${text}\r\n`, 'latin1')).equals(audio)).toBe(true);
    }
    for (const size of [0, 1, 2, 3, 57, 58, 59, 100_000, 100_001, 100_002]) {
      const bytes = audio.subarray(0, size);
      expect(decodeBase64Body(Buffer.from(lines(bytes, 76), 'latin1')).equals(bytes)).toBe(true);
    }
  });

  it('decodes what is not in even lines exactly as one string would', () => {
    const text = lines(audio, 76);
    const middle = 200_000;
    const shapes = [
      lines(audio, 78),
      lines(audio, 74),
      lines(audio, 77, '\n'),
      text.replace(/\r\n/g, ' \r\n'),
      // One line a character short, one a character long, a line break missing.
      text.slice(0, middle) + text.slice(middle + 1),
      text.slice(0, middle) + 'A' + text.slice(middle),
      text.slice(0, text.indexOf('\r\n', middle)) + text.slice(text.indexOf('\r\n', middle) + 2),
      // A character outside the alphabet, padding and url-safe characters mid-body.
      text.slice(0, middle) + '*' + text.slice(middle + 1),
      text.slice(0, middle) + '=' + text.slice(middle + 1),
      text.slice(0, middle) + '==' + text.slice(middle + 2),
      text.slice(0, middle) + '-_' + text.slice(middle + 2),
      text.slice(0, middle) + '\t' + text.slice(middle + 1),
      // A line that is one break longer, a bare CR, a blank line, text after the base64.
      text.slice(0, middle) + '\r' + text.slice(middle + 1),
      text.replace('\r\n', '\r\n\r\n'),
      `${text}\r\n\r\nthis is not base64\r\n`,
      'QUJD',
      '',
      '\r\n',
    ];
    for (const shape of shapes) expectSame(shape);
  });
});
