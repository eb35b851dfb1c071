import { describe, expect, it } from 'vitest';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { fuzzSeed, rng, type Rand } from '../fuzz/fuzz-kit.ts';
import { unpatchedSmtpStream } from '../helpers/unpatched-smtp-stream.ts';

/**
 * smtp-server's DATA reader, as patched (patches/smtp-server+*.patch, server/smtp-in/README.md):
 * line-start dots are found by native searches, with the bytes before each chunk kept as state.
 * Every message here is fed whole, split in two at every offset, in three at every pair of
 * offsets, and a byte at a time: what comes out, and the command after the terminator, must not
 * depend on where TCP cut the data.
 */
async function receive(
  chunks: Buffer[],
  Parser: typeof SMTPStream = SMTPStream,
): Promise<{ data: string; commands: string[] }> {
  const parser = new Parser();
  const commands: string[] = [];
  parser.oncommand = (line: Buffer, next?: () => void) => {
    commands.push(line.toString('latin1'));
    next?.();
  };
  const stream = parser.startDataMode(0);
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise<void>((resolve) => stream.once('end', resolve));
  for (const chunk of chunks) parser.write(chunk);
  await ended;
  parser.continue();
  // The command after the message is read once the parser continues.
  await new Promise<void>((resolve) => parser.end(resolve));
  return { data: Buffer.concat(out).toString('latin1'), commands };
}

function splits(wire: string): Buffer[][] {
  const bytes = Buffer.from(wire, 'latin1');
  const ways: Buffer[][] = [[bytes], [...bytes].map((b) => Buffer.from([b]))];
  for (let i = 1; i < bytes.length; i++) {
    ways.push([bytes.subarray(0, i), bytes.subarray(i)]);
    for (let j = i + 1; j < bytes.length; j++)
      ways.push([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]);
  }
  return ways;
}

const CASES: { name: string; wire: string; data: string }[] = [
  { name: 'plain lines', wire: 'a\r\nb\r\n.\r\n', data: 'a\r\nb\r\n' },
  { name: 'an empty message', wire: '.\r\n', data: '' },
  { name: 'a line of only ".."', wire: 'a\r\n..\r\nb\r\n.\r\n', data: 'a\r\n.\r\nb\r\n' },
  { name: 'the first line ".."', wire: '..\r\n.\r\n', data: '.\r\n' },
  { name: 'an escaped leading dot', wire: '..x\r\n...y\r\n.\r\n', data: '.x\r\n..y\r\n' },
  { name: 'a single leading dot kept', wire: 'a\r\n.b\r\n.\r\n', data: 'a\r\n.b\r\n' },
  { name: 'dots inside a line kept', wire: 'a..b.\r\n.\r\n', data: 'a..b.\r\n' },
  { name: 'escapes on every line', wire: '..\r\n..\r\n..\r\n.\r\n', data: '.\r\n.\r\n.\r\n' },
  {
    name: 'a lone LF before "." is not the end',
    wire: 'a\n.\r\nb\r\n.\r\n',
    data: 'a\n.\r\nb\r\n',
  },
  { name: 'a lone LF before ".."', wire: 'a\n..b\r\n.\r\n', data: 'a\n.b\r\n' },
  { name: 'a lone LF first, then ".."', wire: '\n..b\r\n.\r\n', data: '\n.b\r\n' },
  { name: 'a lone CR before "."', wire: 'a\r.\r\nb\r\n.\r\n', data: 'a\r.\r\nb\r\n' },
  { name: '"." without CRLF after it', wire: 'a\r\n.\rb\r\n.\r\n', data: 'a\r\n.\rb\r\n' },
  { name: '"." and a lone LF after it', wire: 'a\r\n.\nb\r\n.\r\n', data: 'a\r\n.\nb\r\n' },
  { name: 'a last line ending in a dot', wire: 'a.\r\n.\r\n', data: 'a.\r\n' },
  { name: 'a dot after the last line, no CRLF', wire: 'a\r\n..\r\n.\r\n', data: 'a\r\n.\r\n' },
];

describe('SMTP DATA: dot-unstuffing and the end of the data, wherever the chunks end', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      for (const chunks of splits(`${c.wire}NOOP\r\n`)) {
        const got = await receive(chunks);
        const cuts = chunks.map((b) => b.length).join('+');
        expect(got.data, cuts).toBe(c.data);
        expect(got.commands, cuts).toEqual(['NOOP']);
      }
    });
  }

  it('a 1 MB base64 body in 64 KiB chunks arrives as sent, with its terminator anywhere', async () => {
    const line = `${'QUJD'.repeat(19)}\r\n`;
    const body = line.repeat(14_000);
    const wire = Buffer.from(`${body}.\r\nNOOP\r\n`, 'latin1');
    for (const size of [65_536, 65_535, 16_384, 78 * 840 + 1]) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < wire.length; at += size) chunks.push(wire.subarray(at, at + size));
      const got = await receive(chunks);
      expect(got.data === body, `chunks of ${size}`).toBe(true);
      expect(got.commands).toEqual(['NOOP']);
    }
  });
});

/**
 * A message of short lines rich in what the reader looks at: dots, CR, LF, escapes. Never a lone
 * LF first: smtp-server before the patch does not look at the second byte of the data, so it
 * keeps both dots of "\n.." there, while it drops one after any other lone LF (ours drops one
 * there too: the case "a lone LF first, then '..'" above).
 */
function randomWire(r: Rand): string {
  const pieces = ['.', '..', '\r\n', '\r\n.', '\r\n..', '\n', '\n.', '\r', 'a', 'QUJD', '.\r\n'];
  let body = '';
  const n = Math.floor(r() * 24);
  for (let i = 0; i < n; i++) {
    const piece = pieces[Math.floor(r() * pieces.length)]!;
    body += body === '' && piece.startsWith('\n') ? `a${piece}` : piece;
  }
  // Only an unescaped "\r\n.\r\n" ends it: the first such is the end, the rest is a command.
  return `${body}\r\n.\r\nNOOP\r\n`;
}

function randomCuts(r: Rand, wire: string): Buffer[] {
  const bytes = Buffer.from(wire, 'latin1');
  const cuts = new Set<number>();
  const n = 1 + Math.floor(r() * 6);
  for (let i = 0; i < n; i++) cuts.add(1 + Math.floor(r() * (bytes.length - 1)));
  const at = [0, ...[...cuts].sort((a, b) => a - b), bytes.length];
  return at.slice(1).map((end, i) => bytes.subarray(at[i], end));
}

describe('SMTP DATA: the patched reader against smtp-server before the patch', () => {
  const Unpatched = unpatchedSmtpStream();

  it("the unpatched reader is the package's own, not the patched one", () => {
    expect(Unpatched.prototype._feedDataStream.toString()).toContain('END_SEQUENCE');
    expect(SMTPStream.prototype._feedDataStream.toString()).not.toContain('END_SEQUENCE');
  });

  it('random messages cut at random places give the same data and commands', async () => {
    const seed = fuzzSeed();
    const r = rng(seed);
    for (let i = 0; i < 3000; i++) {
      const wire = randomWire(r);
      const chunks = randomCuts(r, wire);
      const what = `seed ${seed}, ${JSON.stringify(wire)} cut ${chunks.map((c) => c.length).join('+')}`;
      const [ours, theirs] = await Promise.all([receive(chunks), receive(chunks, Unpatched)]);
      expect(ours, what).toEqual(theirs);
    }
  });

  it('the terminator cut at every offset of every two-chunk split, after every kind of line', async () => {
    for (const last of ['a', '..', '...', 'a.', '', '\n', '\r', '.a']) {
      const wire = `x\r\n${last}\r\n.\r\nNOOP\r\n`;
      const bytes = Buffer.from(wire, 'latin1');
      for (let i = 1; i < bytes.length; i++) {
        const chunks = [bytes.subarray(0, i), bytes.subarray(i)];
        const [ours, theirs] = await Promise.all([receive(chunks), receive(chunks, Unpatched)]);
        expect(ours, `${JSON.stringify(wire)} cut at ${i}`).toEqual(theirs);
        expect(ours.commands).toEqual(['NOOP']);
      }
    }
  });
});
