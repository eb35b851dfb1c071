import { brotliDecompressSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { apiApp } from '../helpers/api-app.ts';
import type { NewMessage } from '../../server/domain/message.ts';
import { MAX_PAGE } from '../../server/domain/message-search.ts';

let t: Awaited<ReturnType<typeof apiApp>>;
let alice: Awaited<ReturnType<typeof t.login>>;
const wav = toneWav({ seconds: 1 });

beforeEach(async () => {
  t = await apiApp();
  // Paris: 2026-03-10 00:00 local is 2026-03-09 23:00 UTC.
  await t.ctx.mailboxes.add({ name: 'alice', extension: '201', timeZone: 'Europe/Paris' }, '1234');
  await t.ctx.mailboxes.add({ name: 'bob', extension: '202' }, '1234');
  alice = await t.login('alice', '1234');
});
afterEach(async () => t.close());

async function deposit(at: string, extra: Record<string, unknown> = {}, mailbox = 'alice') {
  const [m] = await t.ctx.messages.deposit({
    mailbox,
    audio: wav,
    callerNumber: '+33612345678',
    callerName: 'Claire Martin',
    receivedAt: Date.parse(at),
    ...extra,
  });
  return m!;
}

type Listed = { id: string; state: string };
async function list(query: string) {
  const res = await alice.call('GET', `/api/messages?${query}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { messages: Listed[]; next: string | null; total: number };
}
const ids = (body: { messages: Listed[] }) => body.messages.map((m) => m.id);

describe('searching the web list', () => {
  it('pages newest first with a cursor, or oldest or priority first', async () => {
    const made = [];
    for (let i = 0; i < 5; i++)
      made.push(await deposit(`2026-03-0${i + 1}T10:00:00Z`, i === 1 ? { priority: 'high' } : {}));
    const [a, b, c, d, e] = made.map((m) => m.id);
    const first = await list('limit=2');
    expect(ids(first)).toEqual([e, d]);
    expect(first.total).toBe(5);
    const second = await list(`limit=2&cursor=${first.next}`);
    expect(ids(second)).toEqual([c, b]);
    const third = await list(`limit=2&cursor=${second.next}`);
    expect(third).toMatchObject({ next: null, total: 5 });
    expect(ids(third)).toEqual([a]);
    expect(ids(await list('order=oldest'))).toEqual([a, b, c, d, e]);
    expect(ids(await list('order=priority'))).toEqual([b, e, d, c, a]);
    // A message arriving between two pages does not shift the next one.
    await deposit('2026-03-09T10:00:00Z');
    expect(ids(await list(`limit=2&cursor=${first.next}`))).toEqual([c, b]);
  });

  it('keeps totals and counts current as messages change, on every channel', async () => {
    const a = await deposit('2026-03-01T10:00:00Z');
    await deposit('2026-03-02T10:00:00Z');
    type Counted = { total: number; counts: { new: number; old: number; deleted: number } };
    const counted = async (query: string) => (await list(query)) as unknown as Counted;
    expect(await counted('limit=1')).toMatchObject({ total: 2, counts: { new: 2, old: 0 } });
    // Asked again with nothing changed (the counts are kept), then after each change.
    expect(await counted('limit=1')).toMatchObject({ total: 2, counts: { new: 2, old: 0 } });
    await t.ctx.messages.act(a.mailboxId, a.id, 'play');
    expect(await counted('limit=1')).toMatchObject({ total: 2, counts: { new: 1, old: 1 } });
    expect(await counted('limit=1&state=played')).toMatchObject({ total: 1 });
    await deposit('2026-03-03T10:00:00Z');
    expect(await counted('limit=1')).toMatchObject({ total: 3, counts: { new: 2, old: 1 } });
    await t.ctx.messages.act(a.mailboxId, a.id, 'delete');
    expect(await counted('limit=1')).toMatchObject({ total: 2, counts: { new: 2, deleted: 1 } });
    expect(await counted('limit=1&state=played')).toMatchObject({ total: 0 });
    expect(await counted('folder=deleted')).toMatchObject({ total: 1 });
  });

  it('finds by caller, local dates, state, priority and privacy', async () => {
    const claire = await deposit('2026-03-09T22:30:00Z'); // 23:30 on the 9th in Paris
    const joe = await deposit('2026-03-09T23:30:00Z', {
      callerName: 'Joe Bloggs',
      callerNumber: '0041441234567',
      priority: 'high',
      private: true,
    }); // 00:30 on the 10th in Paris
    await t.ctx.messages.act(claire.mailboxId, claire.id, 'play');
    expect(ids(await list('q=martin'))).toEqual([claire.id]);
    expect(ids(await list('q=MART'))).toEqual([claire.id]);
    expect(ids(await list('q=4412'))).toEqual([joe.id]);
    expect(ids(await list('q=Jo'))).toEqual([joe.id]);
    expect(ids(await list('from=2026-03-10'))).toEqual([joe.id]);
    expect(ids(await list('to=2026-03-09'))).toEqual([claire.id]);
    expect(ids(await list('from=2026-03-09&to=2026-03-10'))).toEqual([joe.id, claire.id]);
    expect(ids(await list('state=played'))).toEqual([claire.id]);
    expect(ids(await list('state=new'))).toEqual([joe.id]);
    expect(ids(await list('state=saved'))).toEqual([]);
    expect(ids(await list('priority=high'))).toEqual([joe.id]);
    expect(ids(await list('private=false'))).toEqual([claire.id]);
    expect((await list('q=nobody')).total).toBe(0);
  });

  it('refuses bad searches with a clear error', async () => {
    for (const [query, message] of [
      ['from=2026-02-30', /from is not a date/],
      ['from=2026-03-10&to=2026-03-01', /ends before it starts/],
      ['cursor=bm90IGEgY3Vyc29y', /cursor/],
      ['order=random', /order/],
      ['limit=0', /limit/],
    ] as const) {
      const res = await alice.call('GET', `/api/messages?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().message).toMatch(message);
    }
  });

  it('compresses lists and says so', async () => {
    for (let i = 0; i < 30; i++) await deposit(`2026-03-01T10:${String(i).padStart(2, '0')}:00Z`);
    const res = await alice.call('GET', '/api/messages', undefined, {
      'accept-encoding': 'br, gzip',
    });
    expect(res.headers['content-encoding']).toBe('br');
    const plain = brotliDecompressSync(res.rawPayload);
    expect(JSON.parse(plain.toString()).messages).toHaveLength(30);
    expect(res.rawPayload.length).toBeLessThan(plain.length / 4);
  });

  it('compresses even the largest page in one piece, its length known before it is sent', async () => {
    const box = await t.ctx.mailboxes.resolve('alice');
    const key = await t.ctx.audio.put(wav);
    const batch: NewMessage[] = [];
    for (let i = 0; i < MAX_PAGE; i++) {
      const id = crypto.randomUUID();
      batch.push({
        id,
        identity: `${id}@test`,
        mailboxId: box.id,
        kind: 'message',
        callerNumber: `+1555${String(i).padStart(7, '0')}`,
        callerName: `Caller number ${i} with a longer name`,
        receivedAt: Date.parse('2026-03-01T10:00:00Z') + i * 60_000,
        audio: { key, format: 'wav/pcm16/8000', bytes: wav.byteLength, durationMs: 1000 },
        priority: 'normal',
        private: false,
        originServer: 'test',
        forwardedFrom: null,
      });
    }
    await t.ctx.store.addMessages(batch, Date.now());
    for (const limit of [50, MAX_PAGE]) {
      const res = await alice.call('GET', `/api/messages?limit=${limit}`, undefined, {
        'accept-encoding': 'br',
      });
      expect(res.headers['content-encoding']).toBe('br');
      const plain = brotliDecompressSync(res.rawPayload);
      expect(JSON.parse(plain.toString()).messages).toHaveLength(limit);
      // Not a compression stream per answer (chunked, its length unknown): one buffer, its
      // Content-Length set.
      expect(res.headers['transfer-encoding']).toBeUndefined();
      expect(res.headers['content-length']).toBe(String(res.rawPayload.length));
    }
  });
});

describe('bulk actions', () => {
  async function bulk(body: unknown) {
    return alice.call('POST', '/api/messages/bulk', body);
  }

  it('applies one action to listed messages, or to every one matching a search', async () => {
    const a = await deposit('2026-03-01T10:00:00Z');
    const b = await deposit('2026-03-02T10:00:00Z', { callerName: 'Joe' });
    const c = await deposit('2026-03-03T10:00:00Z', { callerName: 'Joe' });
    const res = await bulk({ action: 'save', ids: [a.id, b.id] });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ count: 2 });
    expect(ids(await list('state=saved'))).toEqual([b.id, a.id]);
    expect((await bulk({ action: 'delete', match: { q: 'joe' } })).json()).toEqual({ count: 2 });
    expect(ids(await list('folder=deleted'))).toEqual([c.id, b.id]);
    expect(ids(await list(''))).toEqual([a.id]);
    expect((await bulk({ action: 'undelete', match: { folder: 'deleted' } })).json()).toEqual({
      count: 2,
    });
    const states = Object.fromEntries((await list('')).messages.map((m) => [m.id, m.state]));
    expect(states).toEqual({ [a.id]: 'saved', [b.id]: 'saved', [c.id]: 'new' });
    expect((await bulk({ action: 'markUnread', ids: [a.id, b.id, c.id] })).statusCode).toBe(200);
    expect((await list('state=new')).total).toBe(3);
  });

  it('forwards many to another mailbox in one request', async () => {
    const a = await deposit('2026-03-01T10:00:00Z');
    const b = await deposit('2026-03-02T10:00:00Z');
    const res = await bulk({ action: 'forward', ids: [a.id, b.id], to: '202' });
    expect(res.json()).toEqual({ count: 2 });
    const bobs = await t.ctx.messages.list((await t.ctx.mailboxes.resolve('bob')).id);
    expect(bobs.map((m) => m.forwardedFrom)).toEqual(['alice', 'alice']);
  });

  it('refuses all of it: a private message in a forward, another mailbox id, a wrong state', async () => {
    const a = await deposit('2026-03-01T10:00:00Z');
    const secret = await deposit('2026-03-02T10:00:00Z', { private: true });
    const bobs = await deposit('2026-03-03T10:00:00Z', {}, 'bob');
    const bob = await t.ctx.mailboxes.resolve('bob');

    const privateForward = await bulk({ action: 'forward', ids: [a.id, secret.id], to: 'bob' });
    expect(privateForward.statusCode).toBe(403);
    expect(privateForward.json()).toMatchObject({ error: 'FORBIDDEN' });
    expect(await t.ctx.messages.list(bob.id)).toHaveLength(1);

    const foreign = await bulk({ action: 'delete', ids: [a.id, bobs.id] });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().message).not.toContain('bob');
    expect((await bulk({ action: 'forward', ids: [bobs.id], to: 'alice' })).statusCode).toBe(404);
    expect((await t.ctx.messages.get(bob.id, bobs.id)).state).toBe('new');

    await t.ctx.messages.act(a.mailboxId, a.id, 'delete');
    const wrong = await bulk({ action: 'save', ids: [secret.id, a.id] });
    expect(wrong.statusCode).toBe(409);
    expect((await t.ctx.messages.get(a.mailboxId, secret.id)).state).toBe('new');

    for (const body of [
      { action: 'save' },
      { action: 'save', ids: [a.id], match: {} },
      { action: 'forward', ids: [a.id] },
      { action: 'explode', ids: [a.id] },
      { action: 'save', ids: ['not-an-id'] },
    ]) {
      const res = await bulk(body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
    }
  });

  it('empties the deleted folder, and only it', async () => {
    const a = await deposit('2026-03-01T10:00:00Z');
    const b = await deposit('2026-03-02T10:00:00Z');
    const c = await deposit('2026-03-03T10:00:00Z');
    await bulk({ action: 'delete', ids: [a.id, b.id] });
    const res = await alice.call('POST', '/api/messages/empty-deleted');
    expect(res.json()).toEqual({ purged: 2 });
    expect(ids(await list('folder=deleted'))).toEqual([]);
    expect(ids(await list(''))).toEqual([c.id]);
  });
});

describe('display settings', () => {
  it("changes the mailbox's language and time zone, and the list's times follow", async () => {
    await deposit('2026-03-01T10:00:00Z');
    const res = await alice.call('PUT', '/api/settings/display', {
      locale: 'fr-FR',
      timeZone: 'America/New_York',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ locale: 'fr-FR', timeZone: 'America/New_York' });
    expect((await list('')).messages[0]).toMatchObject({ receivedLocal: '2026-03-01 05:00' });
    for (const body of [
      { locale: 'fr-FR', timeZone: 'Mars/Olympus' },
      { locale: 'french', timeZone: 'UTC' },
    ]) {
      const bad = await alice.call('PUT', '/api/settings/display', body);
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error).toBe('INVALID_INPUT');
    }
  });
});

describe('the list order remembered', () => {
  it('keeps the order the owner chose for every later session, and refuses an unknown one', async () => {
    expect((await alice.call('GET', '/api/session')).json().listOrder).toBe('newest');
    const res = await alice.call('PUT', '/api/settings/list-order', { listOrder: 'priority' });
    expect([res.statusCode, res.json()]).toEqual([200, { listOrder: 'priority' }]);
    // A new log-in (another browser) starts with it; another mailbox keeps its own.
    const again = await t.login('alice', '1234');
    expect((await again.call('GET', '/api/session')).json().listOrder).toBe('priority');
    const bob = await t.login('bob', '1234');
    expect((await bob.call('GET', '/api/session')).json().listOrder).toBe('newest');
    const bad = await alice.call('PUT', '/api/settings/list-order', { listOrder: 'random' });
    expect(bad.statusCode).toBe(400);
    expect((await alice.call('GET', '/api/session')).json().listOrder).toBe('priority');
  });
});
