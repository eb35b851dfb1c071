/**
 * Every SEARCH key of RFC 3501 and RFC 9051 that a voicemail can match, checked against an oracle
 * computed from what a client fetches of the same messages (flags, size, dates, headers, text),
 * over raw commands and through imapflow. RECENT, NEW and OLD are left out: RFC 9051 removed
 * them, and \Recent is a per-session notion a second session cannot observe.
 */
import type { ImapFlow, SearchObject } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CODE, connected, newMailbox } from './imapflow-kit.ts';
import { rawLogin, type RawImap } from './imapflow-raw.ts';

interface Fetched {
  uid: number;
  seq: number;
  flags: Set<string>;
  size: number;
  internalDate: Date;
  modseq: number;
  header: string;
  body: string;
  sent: Date;
}

let server: TestServer;
let client: ImapFlow;
let raw: RawImap;
let all: Fetched[];

const DAY = 86_400_000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** An IMAP search date (`d-Mon-yyyy`) of an instant, in UTC (the test server's zone). */
const imapDate = (d: Date): string =>
  `${d.getUTCDate()}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()}`;
const dayOf = (d: Date): number => Math.floor(d.getTime() / DAY);

beforeAll(async () => {
  server = await startTestServer();
  const box = await newMailbox(server);
  const deposits = [
    { seconds: 1, callerNumber: '5551234', callerName: 'Joe', at: '2026-01-10T09:00:00Z' },
    { seconds: 3, callerNumber: '5559876', callerName: 'Ann Smith', at: '2026-03-15T23:30:00Z' },
    { seconds: 2, callerNumber: '5550000', callerName: null, at: '2026-06-20T00:15:00Z' },
    { seconds: 1, callerNumber: '5551234', callerName: 'Joe', at: '2026-06-20T12:00:00Z' },
  ];
  for (const d of deposits)
    await server.context.messages.deposit({
      mailbox: box.name,
      audio: toneWav({ seconds: d.seconds }),
      callerNumber: d.callerNumber,
      callerName: d.callerName,
      receivedAt: Date.parse(d.at),
    });
  client = await connected(server, box.name);
  await client.mailboxOpen('INBOX');
  // Played, saved, deleted, new.
  await client.messageFlagsAdd('1', ['\\Seen']);
  await client.messageFlagsAdd('2', ['\\Flagged']);
  await client.messageFlagsAdd('3', ['\\Deleted']);
  all = [];
  for await (const m of client.fetch('1:*', {
    uid: true,
    flags: true,
    size: true,
    internalDate: true,
    envelope: true,
    source: true,
  })) {
    const source = m.source!.toString('latin1');
    const split = source.indexOf('\r\n\r\n');
    all.push({
      uid: m.uid,
      seq: m.seq,
      flags: m.flags!,
      size: m.size!,
      internalDate: new Date(m.internalDate!),
      modseq: Number(m.modseq),
      header: source.slice(0, split),
      body: source.slice(split + 4),
      sent: new Date(m.envelope!.date!),
    });
  }
  raw = await rawLogin(server.ports.imaps, box.name, CODE);
  await raw.command('ENABLE CONDSTORE');
  await raw.command('SELECT INBOX');
}, 60_000);

afterAll(async () => {
  raw?.close();
  await client?.logout();
  await server?.stop();
});

const uids = (pick: (m: Fetched) => boolean): number[] => all.filter(pick).map((m) => m.uid);
const has = (text: string, needle: string): boolean =>
  text.toLowerCase().includes(needle.toLowerCase());
/** A header's unfolded value. */
const header = (m: Fetched, name: string): string =>
  (new RegExp(`^${name}:(.*(?:\\r\\n[ \\t].*)*)`, 'im').exec(m.header)?.[1] ?? '').replace(
    /\r\n/g,
    '',
  );

/** The UIDs a raw `UID SEARCH` answers. */
async function rawSearch(criteria: string): Promise<number[]> {
  const reply = await raw.command(`UID SEARCH ${criteria}`);
  expect(reply.status, `UID SEARCH ${criteria}: ${reply.text}`).toBe('OK');
  const line = reply.untagged.find((u) => u.startsWith('SEARCH'))!;
  return line
    .replace(/\(MODSEQ \d+\)/, '')
    .split(' ')
    .slice(1)
    .filter(Boolean)
    .map(Number)
    .sort((a, b) => a - b);
}

describe('SEARCH keys against an oracle', () => {
  it('has messages of different sizes, dates and states to tell the keys apart', () => {
    expect(all).toHaveLength(4);
    expect(new Set(all.map((m) => m.size)).size).toBeGreaterThan(2);
    expect(Math.min(...all.map((m) => m.size))).toBeGreaterThan(100);
  });

  // Built lazily: `all` is filled in beforeAll.
  const cases: [string, () => number[]][] = [
    ['ALL', () => uids(() => true)],
    ['SEEN', () => uids((m) => m.flags.has('\\Seen'))],
    ['UNSEEN', () => uids((m) => !m.flags.has('\\Seen'))],
    ['FLAGGED', () => uids((m) => m.flags.has('\\Flagged'))],
    ['UNFLAGGED', () => uids((m) => !m.flags.has('\\Flagged'))],
    ['DELETED', () => uids((m) => m.flags.has('\\Deleted'))],
    ['UNDELETED', () => uids((m) => !m.flags.has('\\Deleted'))],
    ['ANSWERED', () => uids((m) => m.flags.has('\\Answered'))],
    ['UNANSWERED', () => uids((m) => !m.flags.has('\\Answered'))],
    ['DRAFT', () => uids((m) => m.flags.has('\\Draft'))],
    ['UNDRAFT', () => uids((m) => !m.flags.has('\\Draft'))],
    ['KEYWORD $Label1', () => uids((m) => m.flags.has('$Label1'))],
    ['UNKEYWORD $Label1', () => uids((m) => !m.flags.has('$Label1'))],
    ['SMALLER 100', () => uids((m) => m.size < 100)],
    ['LARGER 100', () => uids((m) => m.size > 100)],
    ['LARGER MEDIAN', () => uids((m) => m.size > median())],
    ['SMALLER MEDIAN', () => uids((m) => m.size < median())],
    [
      'BEFORE 20-Jun-2026',
      () => uids((m) => dayOf(m.internalDate) < dayOf(new Date('2026-06-20'))),
    ],
    ['ON 20-Jun-2026', () => uids((m) => dayOf(m.internalDate) === dayOf(new Date('2026-06-20')))],
    [
      'SINCE 15-Mar-2026',
      () => uids((m) => dayOf(m.internalDate) >= dayOf(new Date('2026-03-15'))),
    ],
    ['SENTBEFORE 15-Mar-2026', () => uids((m) => dayOf(m.sent) < dayOf(new Date('2026-03-15')))],
    ['SENTON 15-Mar-2026', () => uids((m) => dayOf(m.sent) === dayOf(new Date('2026-03-15')))],
    ['SENTSINCE 20-Jun-2026', () => uids((m) => dayOf(m.sent) >= dayOf(new Date('2026-06-20')))],
    ['FROM 5559876', () => uids((m) => has(header(m, 'From'), '5559876'))],
    ['FROM joe', () => uids((m) => has(header(m, 'From'), 'joe'))],
    ['TO voicegate', () => uids((m) => has(header(m, 'To'), 'voicegate'))],
    ['CC anyone', () => uids((m) => has(header(m, 'Cc'), 'anyone'))],
    ['BCC anyone', () => uids((m) => has(header(m, 'Bcc'), 'anyone'))],
    ['SUBJECT "Ann Smith"', () => uids((m) => has(header(m, 'Subject'), 'Ann Smith'))],
    ['SUBJECT 5550000', () => uids((m) => has(header(m, 'Subject'), '5550000'))],
    [
      'HEADER X-CallingTelephoneNumber 5551234',
      () => uids((m) => has(header(m, 'X-CallingTelephoneNumber'), '5551234')),
    ],
    ['HEADER Content-Class ""', () => uids((m) => /^Content-Class:/im.test(m.header))],
    ['BODY "Ann Smith"', () => uids((m) => has(m.body, 'Ann Smith'))],
    ['TEXT 5550000', () => uids((m) => has(m.header, '5550000') || has(m.body, '5550000'))],
    ['UID 2:3', () => uids((m) => m.uid >= all[1]!.uid && m.uid <= all[2]!.uid)],
    ['2,4', () => uids((m) => m.seq === 2 || m.seq === 4)],
    ['NOT SEEN', () => uids((m) => !m.flags.has('\\Seen'))],
    ['OR FLAGGED DELETED', () => uids((m) => m.flags.has('\\Flagged') || m.flags.has('\\Deleted'))],
    ['LARGER 100 NOT FROM joe', () => uids((m) => m.size > 100 && !has(header(m, 'From'), 'joe'))],
    ['MODSEQ MAX', () => uids((m) => m.modseq >= maxModseq())],
  ];

  const median = (): number => [...all.map((m) => m.size)].sort((a, b) => a - b)[1]! + 1;
  const maxModseq = (): number => Math.max(...all.map((m) => m.modseq));
  const criteria = (key: string): string =>
    key.replace('MEDIAN', String(median())).replace('MAX', String(maxModseq()));

  it.each(cases)('UID SEARCH %s answers what the messages say', async (key, oracle) => {
    expect(await rawSearch(criteria(key))).toEqual(oracle());
  });

  it.each<[string, () => SearchObject, () => number[]]>([
    ['larger', () => ({ larger: median() }), () => uids((m) => m.size > median())],
    ['smaller', () => ({ smaller: median() }), () => uids((m) => m.size < median())],
    [
      'seen, flagged',
      () => ({ seen: true, flagged: true }),
      () => uids((m) => m.flags.has('\\Seen') && m.flags.has('\\Flagged')),
    ],
    ['from', () => ({ from: '5559876' }), () => uids((m) => has(header(m, 'From'), '5559876'))],
    [
      'since',
      () => ({ since: new Date('2026-03-15T00:00:00Z') }),
      () => uids((m) => dayOf(m.internalDate) >= dayOf(new Date('2026-03-15'))),
    ],
    [
      'sentBefore',
      () => ({ sentBefore: new Date('2026-06-20T00:00:00Z') }),
      () => uids((m) => dayOf(m.sent) < dayOf(new Date('2026-06-20'))),
    ],
    [
      'or',
      () => ({ or: [{ deleted: true }, { body: 'Ann Smith' }] }),
      () => uids((m) => m.flags.has('\\Deleted') || has(m.body, 'Ann Smith')),
    ],
  ])('imapflow search %s answers what the messages say', async (_name, query, oracle) => {
    const found = ((await client.search(query(), { uid: true })) || []).sort((a, b) => a - b);
    expect(found).toEqual(oracle());
  });

  it('tells the dates apart (the oracle is not trivially all or none)', () => {
    expect(new Set(all.map((m) => imapDate(m.internalDate))).size).toBe(3);
  });
});
