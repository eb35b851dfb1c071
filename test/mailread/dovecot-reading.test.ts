import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { ImapFlow } from 'imapflow';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EmailReadingService } from '../../server/domain/email-reading-service.ts';
import { SecretBox } from '../../server/domain/secret-box.ts';
import type { PlayResult } from '../../server/flows/call.ts';
import type { Speech } from '../../server/flows/flow-deps.ts';
import { collectMessages } from '../../server/flows/voicemail/collect-messages.ts';
import { MailReader } from '../../server/mailread/email-reader.ts';
import { EspeakSpeech } from '../../server/prompts/speech.ts';
import { FakeCall, labelOf, type Cue } from '../flows/voicemail/fake-call.ts';
import { flowKit, type FlowKit } from '../flows/voicemail/flow-kit.ts';
import { startDovecot, type MaildirMessage, type TestDovecot } from '../helpers/dovecot.ts';

const PASSWORD = 'dovecot-Secret-42';
const SAMPLES = ['1-plain', '2-html-table', '3-reply', '4-attachments', '5-french'];
const raw = (name: string) =>
  readFileSync(new URL(`../fixtures/mailread/${name}.eml`, import.meta.url));

/** The samples arrive in order, an hour apart (5-french is the newest), plus one read before. */
function inbox(): MaildirMessage[] {
  const at = (h: number) => new Date(Date.UTC(2026, 10, 30, 8 + h));
  return [
    { raw: raw('1-plain'), flags: ['\\Seen'], internalDate: at(-1) },
    ...SAMPLES.map((name, i) => ({ raw: raw(name), flags: [], internalDate: at(i) })),
  ];
}

/** Carol's one e-mail: long enough to be spoken in two parts. */
const LONG_SENTENCES = [
  'The quarterly review is moved to the large room on the second floor.',
  'Please bring the figures for the northern region and the notes from last week.',
  'Lunch will be served after the review, and the afternoon is kept free for questions.',
  'If you cannot come, send your figures to the team before Wednesday evening.',
  'The visitors from the head office arrive on Thursday morning by the first train.',
];
const LONG = [
  'From: Dana Ortiz <dana@example.com>',
  'To: carol@example.com',
  'Subject: Quarterly review',
  'Date: Mon, 30 Nov 2026 09:00:00 +0000',
  'Message-ID: <long-1@example.com>',
  'Content-Type: text/plain; charset=utf-8',
  '',
  LONG_SENTENCES.join(' '),
  '',
].join('\r\n');

let dovecot: TestDovecot;
beforeAll(async () => {
  dovecot = await startDovecot([
    { name: 'alice', password: PASSWORD, inbox: inbox() },
    {
      name: 'carol',
      password: PASSWORD,
      inbox: [{ raw: Buffer.from(LONG), flags: [], internalDate: new Date() }],
    },
  ]);
}, 60_000);
afterAll(async () => {
  await dovecot?.stop();
});

/** What a mail client sees in the account: each INBOX message's subject and whether seen, and the trash. */
async function mailState(
  user = 'alice',
): Promise<{ unseen: string[]; seen: string[]; trash: string[] }> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: dovecot.port,
    secure: false,
    doSTARTTLS: false,
    auth: { user, pass: PASSWORD },
    logger: false,
  });
  await client.connect();
  const out = { unseen: [] as string[], seen: [] as string[], trash: [] as string[] };
  try {
    await client.mailboxOpen('INBOX');
    for await (const m of client.fetch('1:*', { envelope: true, flags: true }))
      (m.flags?.has('\\Seen') ? out.seen : out.unseen).push(m.envelope?.subject ?? '');
    if ((await client.list()).some((f) => f.path === 'Trash')) {
      await client.mailboxOpen('Trash');
      for await (const m of client.fetch('1:*', { envelope: true }))
        out.trash.push(m.envelope?.subject ?? '');
    }
  } finally {
    await client.logout();
  }
  for (const list of Object.values(out)) list.sort();
  return out;
}

interface LogLine {
  level: string;
  obj: object;
  msg: string;
}

let k: FlowKit;
let logs: LogLine[];
let reading: EmailReadingService;
let reader: (timeoutMs: number) => MailReader;
beforeEach(async () => {
  k = await flowKit();
  logs = [];
  const log = (level: string) => (obj: object, msg: string) => logs.push({ level, obj, msg });
  const recording = { info: log('info'), warn: log('warn'), error: log('error'), debug() {} };
  k.deps.log = recording;
  await k.mailbox({ timeZone: 'Europe/Paris', locale: 'en-US' });
  reader = (timeoutMs) =>
    new MailReader({
      source: (id) => reading.source(id),
      isOn: (id) => reading.isOn(id),
      maxPerCall: 10,
      timeoutMs,
      log: recording,
    });
  const box = new SecretBox(randomBytes(32));
  reading = new EmailReadingService(
    { store: k.ctx.store, log: recording } as never,
    k.mailboxes,
    () => box,
  );
  // Dovecot answers a wrong password after 2 s (auth_failure_delay): the default 5 s allows it.
  k.deps.emailReader = reader(5000);
});
afterEach(async () => {
  // No secret reaches a log line, whatever happened.
  expect(JSON.stringify(logs)).not.toContain(PASSWORD);
  await k.cleanup();
});

async function owner(cues: Cue[]): Promise<FakeCall> {
  const call = new FakeCall({ cues });
  await collectMessages(call, k.deps, { mailboxRef: '201', trusted: true, language: 'en' });
  return call;
}

/** The synthesised text the caller heard (made ahead of time but never played is not). */
const heard = (call: FakeCall) =>
  call.played.filter((l) => l.startsWith('say:')).map((l) => l.slice(4));

describe('reading e-mail from Dovecot by phone', () => {
  it('reads the new e-mails after the voicemail, newest first, and the keys change them in Dovecot', async () => {
    await reading.set('201', `imap://alice@127.0.0.1:${dovecot.port}?tls=none`, PASSWORD);
    const before = await mailState();
    expect(before.unseen).toHaveLength(5);
    const call = await owner([
      { keys: '1' }, // new voicemail (none), then the e-mail
      { keys: '#' }, // 5-french heard to its end (read); next
      { keys: '3', during: 'email-from' }, // 4-attachments: to the trash
      { keys: '#', during: 'email-from' }, // 3-reply: skipped, stays unread
      { keys: '6' }, // 2-html-table heard, then left unread
      { keys: '4', during: 'email-from' }, // 1-plain: back to 2-html-table
      { keys: '9', during: 'email-from' }, // stop: the main menu
    ]);
    const played = call.played;
    expect(played).toEqual(expect.arrayContaining(['no-new-messages', 'main-menu-email']));
    const count = played.indexOf('you-have', played.indexOf('no-new-messages'));
    expect(played.slice(count, count + 3)).toEqual(['you-have', 'five', 'new-emails']);
    // The French e-mail first: who, when (the mailbox's zone, Paris), what about, how long.
    expect(heard(call)).toEqual(
      expect.arrayContaining([
        'François Dupont',
        'Monday, November 30 at 2:00 PM',
        'Réunion de mardi',
        '14',
      ]),
    );
    expect(heard(call).join(' ')).toContain('La réunion de mardi est déplacée à quinze heures.');
    expect(heard(call).join(' ')).not.toContain('la réunion tient toujours');
    // The attachments' e-mail was cut at its header; the HTML one was read as words.
    expect(heard(call).join(' ')).not.toContain('Here are the files');
    expect(heard(call).join(' ')).toContain('Blue mug, 12 euros,');
    expect(played.filter((l) => l === 'email-deleted')).toHaveLength(1);
    expect(played.filter((l) => l === 'email-left-unread')).toHaveLength(1);
    expect(await mailState()).toEqual({
      seen: ['Lunch on Friday', 'Réunion de mardi'].sort(),
      unseen: ['Lunch on Friday', 'Re: Budget', 'Your invoice'].sort(),
      trash: ['Photos and report'],
    });
  }, 60_000);

  it('announces a refused password in one sentence, logs it once, and never locks the voicemail', async () => {
    await reading.set('201', `imap://alice@127.0.0.1:${dovecot.port}?tls=none`, 'not-it');
    // Dovecot answers a second wrong password from one address later than the first.
    k.deps.emailReader = reader(15_000);
    for (let i = 0; i < 2; i++) {
      const call = await owner([{ keys: '5' }, { keys: '1' }]);
      expect(call.played.filter((l) => l === 'email-login-failed')).toHaveLength(1);
      // The call goes on: key 1 still plays the voicemail menu.
      expect(call.played).toContain('no-new-messages');
    }
    const refused = logs.filter((l) => l.msg === 'the mail server refused the e-mail password');
    expect(refused).toHaveLength(1);
    expect(JSON.stringify(logs)).not.toContain('not-it');
    const mailbox = await k.mailboxes.resolve('201');
    expect(mailbox.failedLogins).toBe(0);
    await expect(
      k.mailboxes.authenticate('201', '1234', { channel: 'phone', remote: '127.0.0.1' }),
    ).resolves.toMatchObject({ name: '201' });
  }, 60_000);

  it('announces a mail server that does not answer after the time limit, and the call goes on', async () => {
    // Accepts the connection and never greets.
    const held: Socket[] = [];
    const silent: Server = createServer((s) => held.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as { port: number };
    try {
      await reading.set('201', `imap://alice@127.0.0.1:${port}?tls=none`, PASSWORD);
      k.deps.emailReader = reader(1500);
      const started = Date.now();
      const call = await owner([{ keys: '5' }]);
      expect(call.played).toContain('email-unreachable');
      const at = call.played.indexOf('email-unreachable');
      expect(call.played.slice(at + 1)).toContain('main-menu');
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      for (const s of held) s.destroy();
      silent.close();
    }
  }, 30_000);

  it('an e-mail whose speech cannot be made is not replaced by a tone: the caller is told, and it stays unread', async () => {
    await reading.set('201', `imap://carol@127.0.0.1:${dovecot.port}?tls=none`, PASSWORD);
    const fake = k.deps.speech;
    k.deps.speech = {
      say: (text, language, opts) =>
        opts?.strict ? Promise.reject(new Error('speech took too long')) : fake.say(text, language),
    };
    const call = await owner([{ keys: '5' }]);
    const at = call.played.indexOf('email-words');
    expect(call.played.slice(at + 1, at + 3)).toEqual(['email-cannot-read', 'email-options']);
    expect(await mailState('carol')).toMatchObject({ unseen: ['Quarterly review'], seen: [] });
  }, 30_000);

  it('speaks a long e-mail in parts, each starting less than half a second after the one before', async () => {
    await reading.set('201', `imap://carol@127.0.0.1:${dovecot.port}?tls=none`, PASSWORD);
    // Real speech (espeak-ng), played in real time sped up SPEED times: the next part has half
    // a call's time to be made, so a gap under 0.5 s here is one on a call too.
    const SPEED = 2;
    const espeak = new EspeakSpeech({ prompts: k.deps.prompts });
    const parts = new Set<Int16Array>();
    const speech: Speech = {
      async say(text, language, opts) {
        const samples = await espeak.say(text, language, opts);
        if (opts?.strict) parts.add(samples);
        return samples;
      },
    };
    k.deps.speech = speech;
    const spans: { what: string; start: number; end: number }[] = [];
    class RealTimeCall extends FakeCall {
      override async play(samples: Int16Array, opts?: { interruptible?: boolean }) {
        const start = performance.now();
        const result: PlayResult = await super.play(samples, opts);
        await new Promise((r) => setTimeout(r, samples.length / 8 / SPEED));
        const what = parts.has(samples) ? 'part' : labelOf(samples);
        spans.push({ what, start, end: performance.now() });
        return result;
      }
    }
    const call = new RealTimeCall({ cues: [{ keys: '5' }] });
    await collectMessages(call, k.deps, { mailboxRef: '201', trusted: true, language: 'en' });
    const from = spans.findIndex((x) => x.what === 'email-words');
    const text = spans.slice(from, from + 3);
    expect(text.map((x) => x.what)).toEqual(['email-words', 'part', 'part']);
    // From the header's end to the first part, and between the parts: the gaps the caller hears.
    const gaps = [text[1]!.start - text[0]!.end, text[2]!.start - text[1]!.end];
    for (const gap of gaps) expect(gap).toBeLessThan(500);
    // Heard to its end: read.
    expect(await mailState('carol')).toMatchObject({ seen: ['Quarterly review'], unseen: [] });
  }, 60_000);
});
