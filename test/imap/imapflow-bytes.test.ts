/**
 * Each voicemail renders as one stable MIME message: every FETCH, in every session, returns the
 * same bytes; sizes, partial fetches, ENVELOPE and BODYSTRUCTURE agree with those bytes; and the
 * audio part decodes to exactly the WAV that was deposited.
 */
import type { ImapFlow, MessageStructureObject } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { connected, deposit, newMailbox, present, type Deposited } from './imapflow-kit.ts';
import { rawLogin } from './imapflow-raw.ts';

let server: TestServer;
let box: { id: number; name: string };
let voicemail: Deposited;
let a: ImapFlow;
let b: ImapFlow;
let full: Buffer;

beforeAll(async () => {
  server = await startTestServer();
  box = await newMailbox(server);
  await deposit(server, box.name, { seconds: 1 });
  voicemail = await deposit(server, box.name, {
    seconds: 3,
    frequency: 523,
    callerNumber: '5551234',
    callerName: 'Joe Caller',
  });
  // Two sessions: one with COMPRESS=DEFLATE (imapflow's default), one without.
  a = await connected(server, box.name);
  b = await connected(server, box.name, { disableCompression: true });
  await a.mailboxOpen('INBOX');
  await b.mailboxOpen('INBOX');
  const m = present(
    await a.fetchOne(String(voicemail.message.uid), { source: true }, { uid: true }),
  );
  full = m.source!;
});
afterAll(async () => {
  await a?.logout();
  await b?.logout();
  await server?.stop();
});

const uid = (): string => String(voicemail.message.uid);

function headerBlock(source: Buffer): Map<string, string> {
  const end = source.indexOf('\r\n\r\n');
  const text = source
    .subarray(0, end)
    .toString('latin1')
    .replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

function part(node: MessageStructureObject, id: string): MessageStructureObject | undefined {
  if (node.part === id) return node;
  for (const child of node.childNodes ?? []) {
    const found = part(child, id);
    if (found) return found;
  }
  return undefined;
}

describe('message bytes', () => {
  it('two FETCH BODY[] in two sessions return identical bytes', async () => {
    expect(full.length).toBeGreaterThan(voicemail.audio.length);
    const again = present(await b.fetchOne(uid(), { source: true }, { uid: true }));
    expect(again.source!.equals(full)).toBe(true);
    // And the same again later in the first session, after the message was played.
    await server.context.messages.act(box.id, voicemail.message.id, 'play');
    const later = present(await a.fetchOne(uid(), { source: true }, { uid: true }));
    expect(later.source!.equals(full)).toBe(true);
  });

  it('RFC822.SIZE equals the length of BODY[]', async () => {
    for (const client of [a, b]) {
      const m = present(await client.fetchOne(uid(), { size: true }, { uid: true }));
      expect(m.size).toBe(full.length);
    }
  });

  it('BODY[2] is the audio in base64, decoding to exactly the deposited WAV', async () => {
    const m = present(await b.fetchOne(uid(), { bodyParts: ['2'] }, { uid: true }));
    const encoded = m.bodyParts!.get('2')!;
    expect(encoded).toBeTruthy();
    expect(encoded.toString('latin1')).toMatch(/^[A-Za-z0-9+/=\r\n]+$/);
    const wav = Buffer.from(encoded.toString('latin1'), 'base64');
    expect(wav.equals(Buffer.from(voicemail.audio))).toBe(true);
    // imapflow's download decodes the part itself: the same WAV, announced as audio/wav.
    const dl = await b.download(uid(), '2', { uid: true });
    const chunks: Buffer[] = [];
    for await (const c of dl.content!) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(Buffer.from(voicemail.audio))).toBe(true);
    expect(dl.meta?.contentType).toBe('audio/wav');
  });

  it('partial fetches BODY[]<start.len> are slices of the full body', async () => {
    const size = full.length;
    const ranges: [number, number][] = [
      [0, 100],
      [1, 1],
      [1000, 5000],
      [size - 10, 100],
      [size, 10],
    ];
    for (const [start, maxLength] of ranges) {
      const m = present(await a.fetchOne(uid(), { source: { start, maxLength } }, { uid: true }));
      const got = m.source ?? Buffer.alloc(0);
      expect(got.equals(full.subarray(start, start + maxLength)), `<${start}.${maxLength}>`).toBe(
        true,
      );
    }
  });

  it('partial fetch on the wire answers BODY[]<start> with the slice', async () => {
    const raw = await rawLogin(server.ports.imaps, box.name, '1234');
    try {
      await raw.command('EXAMINE INBOX');
      const reply = await raw.command(`UID FETCH ${uid()} (BODY.PEEK[]<200.300>)`);
      expect(reply.status).toBe('OK');
      const response = reply.untagged.find((u) => u.includes('BODY[]<200>'));
      expect(response).toBeDefined();
      const literal = /BODY\[\]<200> \{(\d+)\}\r\n/.exec(response!)!;
      expect(Number(literal[1])).toBe(300);
      const bytes = Buffer.from(
        response!.slice(literal.index + literal[0].length, literal.index + literal[0].length + 300),
        'latin1',
      );
      expect(bytes.equals(full.subarray(200, 500))).toBe(true);
    } finally {
      raw.close();
    }
  });

  it('ENVELOPE agrees with the message headers', async () => {
    const m = present(await b.fetchOne(uid(), { envelope: true }, { uid: true }));
    const env = m.envelope!;
    const headers = headerBlock(full);
    expect(env.subject).toBe(headers.get('subject'));
    expect(env.subject).toBe(
      `Voicemail Message (Joe Caller (5551234) > ${box.name}) From:Joe Caller (5551234)`,
    );
    expect(`<${env.messageId!.replace(/^<|>$/g, '')}>`).toBe(headers.get('message-id'));
    expect(new Date(env.date!).getTime()).toBe(new Date(headers.get('date')!).getTime());
    expect(headers.get('from')).toContain(env.from![0]!.address!);
    expect(env.from![0]!.name).toContain('Joe Caller');
    expect(headers.get('to')).toContain(env.to![0]!.address!);
  });

  it('Date is in the mailbox time zone, the same instant as the message was received', async () => {
    const paris = await newMailbox(server, { timeZone: 'Europe/Paris' });
    const receivedAt = Date.UTC(2025, 6, 14, 10, 30, 0);
    const [m] = await server.context.messages.deposit({
      mailbox: paris.name,
      audio: voicemail.audio,
      callerNumber: '5551234',
      receivedAt,
    });
    const c = await connected(server, paris.name);
    try {
      await c.mailboxOpen('INBOX');
      const got = present(
        await c.fetchOne(String(m!.uid), { source: true, envelope: true }, { uid: true }),
      );
      const date = headerBlock(got.source!).get('date');
      expect(date).toMatch(/ 12:30:00 \+0200$/);
      expect(new Date(got.envelope!.date!).getTime()).toBe(receivedAt);
    } finally {
      await c.logout();
    }
  });

  it('BODYSTRUCTURE agrees with the bytes: text and HTML, then the audio/wav part', async () => {
    const m = present(await b.fetchOne(uid(), { bodyStructure: true }, { uid: true }));
    const root = m.bodyStructure!;
    expect(root.type).toBe('multipart/mixed');
    const audio = part(root, '2')!;
    expect(audio).toMatchObject({
      type: 'audio/wav',
      encoding: 'base64',
      disposition: 'attachment',
    });
    expect(audio.dispositionParameters!.filename).toMatch(/\.wav$/);
    const text = part(root, '1.1')!;
    const html = part(root, '1.2')!;
    expect(text.type).toBe('text/plain');
    expect(html.type).toBe('text/html');
    // Each part's announced size is the length of its body as fetched.
    const parts = present(
      await b.fetchOne(uid(), { bodyParts: ['1.1', '1.2', '2'] }, { uid: true }),
    );
    for (const [id, node] of [
      ['1.1', text],
      ['1.2', html],
      ['2', audio],
    ] as const) {
      expect(parts.bodyParts!.get(id)!.length, id).toBe(node.size);
    }
    // The audio part is the last thing before the closing boundary of the message.
    const encoded = parts.bodyParts!.get('2')!;
    expect(full.indexOf(encoded)).toBeGreaterThan(0);
  });
});
