/**
 * smtp-server's DATA reader alone, in this process: a mail's wire form (dot-stuffed, ended by
 * CRLF.CRLF) written to the reader in the chunks a socket gives (64 KiB reads in the clear,
 * 16 KiB TLS records) until its end, and the data read; CPU ms per mail for the reader as
 * patched (patches/smtp-server+*.patch) beside the package's own before the patch
 * (test/helpers/unpatched-smtp-stream.ts), measured in the same run. Two mails: the smtp
 * benchmark's 1.36 MB voicemail (base64, no dot in its body) and as much text where a line in
 * three starts with a dot (each escaped on the wire), the reader's busy case.
 */
import { performance } from 'node:perf_hooks';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { toneWav } from '../../server/media/tone.ts';
import { unpatchedSmtpStream } from '../helpers/unpatched-smtp-stream.ts';
import {
  markdownTable,
  textTable,
  writeResult,
  type Benchmark,
  type BenchOptions,
  type Table,
} from './bench-kit.ts';
import { toWire } from './smtp-client.ts';
import { composeVoicemail } from './smtp-senders.ts';

const CHUNKS = [
  { label: '64 KiB (socket reads)', bytes: 64 * 1024 },
  { label: '16 KiB (TLS records)', bytes: 16 * 1024 },
];
const WARM_UP = 20;
const MAX_MAILS = 400;

const benchmark: Benchmark = {
  name: 'smtp-data',
  title: "smtp-server's DATA reader: CPU per mail, as patched and before the patch",
  run,
};
export default benchmark;

/** Reads one mail's DATA to its end; the bytes that came out. */
async function readOne(Reader: typeof SMTPStream, chunks: Buffer[]): Promise<number> {
  const parser = new Reader();
  parser.oncommand = (_line: Buffer, next?: () => void) => next?.();
  const stream = parser.startDataMode(0);
  let bytes = 0;
  stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
  const ended = new Promise<void>((resolve) => stream.once('end', resolve));
  for (const chunk of chunks) parser.write(chunk);
  await ended;
  return bytes;
}

/** CPU ms (user + system) and wall ms per mail, over at most `opts` after a warm-up. */
async function measure(
  Reader: typeof SMTPStream,
  chunks: Buffer[],
  opts: BenchOptions,
): Promise<{ cpuMs: number; wallMs: number; mails: number; bytesOut: number }> {
  let bytesOut = 0;
  for (let i = 0; i < WARM_UP; i++) bytesOut = await readOne(Reader, chunks);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + (opts.seconds * 1000) / 4;
  let mails = 0;
  while (mails < Math.min(MAX_MAILS, opts.maxOps) && performance.now() < deadline) {
    await readOne(Reader, chunks);
    mails++;
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    cpuMs: (cpu.user + cpu.system) / 1000 / mails,
    wallMs: (performance.now() - t0) / mails,
    mails,
    bytesOut,
  };
}

/** About `bytes` of text lines, one in three starting with a dot. */
function dottedText(bytes: number): Buffer {
  const lines = [
    '.a line that starts with a dot',
    'an ordinary line of prose text',
    'and one more.',
  ];
  let text = 'Subject: dots\r\n\r\n';
  for (let i = 0; text.length < bytes; i++) text += `${lines[i % 3]}\r\n`;
  return Buffer.from(text, 'latin1');
}

function cut(wire: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < wire.length; at += size) chunks.push(wire.subarray(at, at + size));
  return chunks;
}

async function run(opts: BenchOptions): Promise<void> {
  const voicemail = (
    await composeVoicemail('201@bench.example', '+15550100', toneWav({ seconds: 62 }))
  ).raw;
  const mails = [
    { label: 'voicemail (base64)', wire: toWire(voicemail) },
    { label: 'text, a dot every 3 lines', wire: toWire(dottedText(voicemail.length)) },
  ];
  const readers = { patched: SMTPStream, unpatched: unpatchedSmtpStream() };
  const rows: string[][] = [];
  const raw = [];
  for (const mail of mails) {
    for (const c of CHUNKS) {
      const chunks = cut(mail.wire, c.bytes);
      const patched = await measure(readers.patched, chunks, opts);
      const unpatched = await measure(readers.unpatched, chunks, opts);
      if (patched.bytesOut !== unpatched.bytesOut)
        throw new Error(
          `${mail.label}: ${patched.bytesOut} bytes read, ${unpatched.bytesOut} before the patch`,
        );
      const mb = mail.wire.length / 1e6;
      rows.push([
        mail.label,
        c.label,
        (mail.wire.length / 1e6).toFixed(2),
        patched.cpuMs.toFixed(3),
        unpatched.cpuMs.toFixed(3),
        (unpatched.cpuMs / patched.cpuMs).toFixed(1),
        (mb / (patched.wallMs / 1000)).toFixed(0),
        (mb / (unpatched.wallMs / 1000)).toFixed(0),
      ]);
      raw.push({
        mail: mail.label,
        chunkBytes: c.bytes,
        wireBytes: mail.wire.length,
        patched,
        unpatched,
      });
    }
  }
  const table: Table = {
    head: [
      'mail',
      'chunks',
      'MB',
      'CPU ms/mail patched',
      'before the patch',
      'ratio',
      'MB/s patched',
      'MB/s before',
    ],
    rows,
  };
  console.log(textTable(table));
  const load = (await import('node:os')).loadavg()[0]!.toFixed(1);
  const markdown = [
    '# SMTP DATA reader benchmark',
    '',
    `${new Date().toISOString()}; Node ${process.version}; \`npm run bench -- smtp-data\` (test/bench/smtp-data.ts); load average ${load} (1 min) at the end.`,
    '',
    markdownTable(table),
    '',
    '- Each mail in its wire form (dot-stuffed, ended by CRLF.CRLF) written to a new SMTPStream in data mode, in chunks of the size shown, until the data ends; the data is read and counted (both readers give the same bytes). CPU = this process (user + system) per mail, one reader at a time, after 20 untimed mails. ratio = CPU before the patch ÷ patched.',
    "- patched: the installed smtp-server with patches/smtp-server+*.patch (server/smtp-in/README.md); before the patch: the same file with the patch's hunk reversed.",
  ].join('\n');
  console.log(
    `\nwritten: ${writeResult('smtp-data', markdown, { benchmark: 'smtp-data', at: new Date().toISOString(), loadAverage1m: Number(load), raw })}`,
  );
}
