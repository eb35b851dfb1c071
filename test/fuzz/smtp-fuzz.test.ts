import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { LineReader, fuzz, fuzzSeed, openSocket } from './fuzz-kit.ts';
import { FuzzServer, RSS_LIMIT_MB } from './fuzz-server.ts';

const seed = fuzzSeed();
let server: FuzzServer;
beforeAll(async () => {
  server = await FuzzServer.start();
}, 90_000);
afterAll(async () => server?.stop());

const crlf = (...l: string[]): string => l.map((x) => `${x}\r\n`).join('');

/** A voicemail as mail: text and a 0.2 s WAV, the way a PBX or another server sends it. */
function voicemailMime(): string {
  const wav = Buffer.from(toneWav({ seconds: 0.2 }))
    .toString('base64')
    .replace(/.{76}/g, '$&\r\n');
  return crlf(
    'From: "PBX" <pbx@example.com>',
    'To: <201@voicegate.local>',
    'Subject: Voicemail from 5551234',
    'X-CallingTelephoneNumber: 5551234',
    'Content-Class: voice-ca',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'A message from 5551234 =E2=98=8E',
    '--b1',
    'Content-Type: audio/wav; name="msg.wav"',
    'Content-Disposition: attachment; filename="msg.wav"',
    'Content-Transfer-Encoding: base64',
    '',
    wav,
    '--b1--',
  );
}

const envelope = (rcpt = '201@voicegate.local'): string =>
  crlf('EHLO fuzz.example', 'MAIL FROM:<pbx@example.com> SIZE=5000', `RCPT TO:<${rcpt}>`, 'DATA');

const CORPUS = [
  envelope() + voicemailMime() + crlf('.', 'QUIT'),
  envelope('Extn201@voicegate.local') + voicemailMime() + crlf('.', 'RSET', 'NOOP', 'QUIT'),
  crlf(
    'HELO fuzz',
    'MAIL FROM:<>',
    'RCPT TO:<alice@voicegate.local>',
    'RCPT TO:<someone@elsewhere.example>',
    'DATA',
  ) + crlf('Subject: no audio', '', 'just text', '..leading dot', '.', 'QUIT'),
  crlf('EHLO fuzz', 'STARTTLS', 'EHLO again'),
  crlf('EHLO fuzz', 'AUTH PLAIN ' + Buffer.from('\0alice\x001234').toString('base64'), 'QUIT'),
  crlf(
    'EHLO fuzz',
    'AUTH LOGIN',
    Buffer.from('alice').toString('base64'),
    Buffer.from('1234').toString('base64'),
    'QUIT',
  ),
  crlf(
    'EHLO fuzz',
    'VRFY 201',
    'EXPN list',
    'HELP',
    'MAIL FROM:<a@b> BODY=8BITMIME SMTPUTF8',
    'RCPT TO:<vmsyncmaster@voicegate.local>',
    'QUIT',
  ),
  envelope() +
    crlf(
      'Content-Type: multipart/mixed; boundary=x',
      '',
      '--x',
      'Content-Type: audio/wav',
      'Content-Transfer-Encoding: base64',
      '',
      'UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA=',
      '--x--',
      '.',
      'QUIT',
    ),
];

async function ehlo(): Promise<void> {
  const socket = await openSocket(server.ports.smtp);
  try {
    const r = new LineReader(socket);
    await r.until(/^220 /);
    socket.write('EHLO check.example\r\n');
    expect(await r.until(/^\d{3} /)).toMatch(/^250 /);
    socket.write('QUIT\r\n');
    await r.until(/^221 /);
  } finally {
    socket.destroy();
  }
}

describe('SMTP fuzzing (seeded; FUZZ_SEED replays)', () => {
  it(
    'survives thousands of mutated mail sessions and still answers EHLO',
    { timeout: 120_000 },
    async () => {
      const figures = await fuzz({
        name: 'smtp',
        server,
        seed,
        corpus: CORPUS.map((c) => Buffer.from(c, 'latin1')),
        port: server.ports.smtp,
        check: ehlo,
      });
      expect(figures.inputs, `seed ${seed}`).toBeGreaterThanOrEqual(500);
      expect(server.exit, `seed ${seed}`).toBeNull();
      // Memory settles: what stays after a full GC is about what was there before.
      expect(figures.heapEndMB, `seed ${seed}: ${JSON.stringify(figures)}`).toBeLessThan(
        figures.heapStartMB + 32,
      );
      expect(figures.rssPeakMB, `seed ${seed}: ${JSON.stringify(figures)}`).toBeLessThan(
        RSS_LIMIT_MB,
      );
    },
  );
});
