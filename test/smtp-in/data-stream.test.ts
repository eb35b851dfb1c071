import { describe, expect, it } from 'vitest';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';

/**
 * smtp-server's DATA reader, as patched (patches/smtp-server+*.patch, server/smtp-in/README.md):
 * line-start dots are found by native searches, with the bytes before each chunk kept as state.
 * Every message here is fed whole, split in two at every offset, in three at every pair of
 * offsets, and a byte at a time: what comes out, and the command after the terminator, must not
 * depend on where TCP cut the data.
 */
async function receive(chunks: Buffer[]): Promise<{ data: string; commands: string[] }> {
  const parser = new SMTPStream();
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
  { name: 'a lone CR before "."', wire: 'a\r.\r\nb\r\n.\r\n', data: 'a\r.\r\nb\r\n' },
  { name: '"." without CRLF after it', wire: 'a\r\n.\rb\r\n.\r\n', data: 'a\r\n.\rb\r\n' },
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
