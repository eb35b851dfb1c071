import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineReader, fuzz, fuzzSeed, openSocket } from './fuzz-kit.ts';
import { FuzzServer, RSS_LIMIT_MB } from './fuzz-server.ts';

const seed = fuzzSeed();
let server: FuzzServer;
beforeAll(async () => {
  server = await FuzzServer.start();
}, 90_000);
afterAll(async () => server?.stop());

const lines = (...l: string[]): Buffer => Buffer.from(l.map((x) => `${x}\r\n`).join(''), 'latin1');

/** Valid sessions: what clients send, literals and UID commands included. */
const CORPUS = [
  lines(
    'a1 CAPABILITY',
    'a2 LOGIN alice 1234',
    'a3 SELECT INBOX',
    'a4 FETCH 1:* (FLAGS UID RFC822.SIZE)',
    'a5 LOGOUT',
  ),
  lines(
    'a1 LOGIN "alice" "1234"',
    'a2 EXAMINE INBOX',
    'a3 UID FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE INTERNALDATE)',
    'a4 LOGOUT',
  ),
  lines(
    'a1 LOGIN {5}',
    'alice {4}',
    '1234',
    'a2 SELECT INBOX',
    'a3 UID FETCH 1 (BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])',
    'a4 LOGOUT',
  ),
  lines(
    'a1 LOGIN alice 1234',
    'a2 SELECT INBOX (CONDSTORE)',
    'a3 UID STORE 1 +FLAGS.SILENT (\\Seen)',
    'a4 STORE 1:2 -FLAGS (\\Seen \\Flagged)',
    'a5 UID STORE 2 (UNCHANGEDSINCE 1) +FLAGS (\\Flagged)',
    'a6 LOGOUT',
  ),
  lines(
    'a1 LOGIN alice 1234',
    'a2 SELECT INBOX',
    'a3 SEARCH UNSEEN',
    'a4 UID SEARCH OR FLAGGED (SINCE 1-Jan-2020 LARGER 100) NOT DELETED',
    'a5 SEARCH CHARSET UTF-8 SUBJECT {3}',
    'abc',
    'a6 UID SEARCH UID 1:* MODSEQ 1',
    'a7 LOGOUT',
  ),
  lines('a1 LOGIN alice 1234', 'a2 SELECT INBOX', 'a3 IDLE', 'DONE', 'a4 NOOP', 'a5 LOGOUT'),
  lines(
    'a1 LOGIN alice 1234',
    'a2 SELECT INBOX',
    'a3 UID FETCH 1 (BODY.PEEK[1] BODY.PEEK[2]<0.100> BINARY.PEEK[1])',
    'a4 FETCH 2 (BODY[TEXT]<10.20>)',
    'a5 CLOSE',
    'a6 LOGOUT',
  ),
  lines(
    'a1 LOGIN alice 1234',
    'a2 LIST "" "*"',
    'a3 LSUB "" "%"',
    'a4 STATUS INBOX (MESSAGES UNSEEN UIDNEXT UIDVALIDITY HIGHESTMODSEQ)',
    'a5 NAMESPACE',
    'a6 GETQUOTAROOT INBOX',
    'a7 ID ("name" "fuzz")',
    'a8 ENABLE CONDSTORE UTF8=ACCEPT',
    'a9 LOGOUT',
  ),
  lines(
    'a1 LOGIN alice 1234',
    'a2 SELECT INBOX',
    'a3 UID MOVE 1 Trash',
    'a4 SELECT Trash',
    'a5 UID MOVE 1:* INBOX',
    'a6 STORE 1 +FLAGS (\\Deleted)',
    'a7 UID EXPUNGE 1',
    'a8 EXPUNGE',
    'a9 UNSELECT',
    'b1 LOGOUT',
  ),
  lines(
    'a1 AUTHENTICATE PLAIN',
    Buffer.from('\0alice\x001234').toString('base64'),
    'a2 SELECT "INBOX"',
    'a3 FETCH 1 FAST',
    'a4 FETCH 1:* ALL',
    'a5 LOGOUT',
  ),
  lines(
    'a1 AUTHENTICATE PLAIN ' + Buffer.from('\0alice\x001234').toString('base64'),
    'a2 COMPRESS DEFLATE',
    'a3 NOOP',
  ),
  lines('a1 STARTTLS', 'a2 LOGIN alice 1234'),
  lines(
    'a1 LOGIN alice 1234',
    'a2 APPEND INBOX (\\Seen) {12}',
    'Subject: x\r\n',
    'a3 CREATE Foo',
    'a4 RENAME INBOX Bar',
    'a5 DELETE Trash',
    'a6 COPY 1 Trash',
    'a7 LOGOUT',
  ),
  lines(
    'a1 LOGIN alice 1234',
    'a2 SELECT INBOX',
    'a3 FETCH 1 (BODY[])',
    'a4 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)',
    'a5 LOGOUT',
  ),
];

async function loginNoop(): Promise<void> {
  const socket = await openSocket(server.ports.imap);
  try {
    const r = new LineReader(socket);
    await r.until(/^\* OK/);
    socket.write('c1 LOGIN alice 1234\r\n');
    expect(await r.until(/^c1 /)).toMatch(/^c1 OK/);
    socket.write('c2 NOOP\r\n');
    expect(await r.until(/^c2 /)).toMatch(/^c2 OK/);
    socket.write('c3 LOGOUT\r\n');
    await r.until(/^c3 /);
  } finally {
    socket.destroy();
  }
}

describe('IMAP fuzzing (seeded; FUZZ_SEED replays)', () => {
  it('survives thousands of mutated sessions and still logs in', { timeout: 120_000 }, async () => {
    const figures = await fuzz({
      name: 'imap',
      server,
      seed,
      corpus: CORPUS,
      port: server.ports.imap,
      check: loginNoop,
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
  });
});
