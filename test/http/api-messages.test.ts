import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeWav, parseWav } from '../../server/media/wav.ts';
import { toneWav } from '../../server/media/tone.ts';
import { encodeUlaw } from '../../server/media/g711.ts';
import { apiApp } from '../helpers/api-app.ts';

let t: Awaited<ReturnType<typeof apiApp>>;
let alice: Awaited<ReturnType<typeof t.login>>;
const wav = toneWav({ seconds: 2 });

beforeEach(async () => {
  t = await apiApp();
  await t.ctx.mailboxes.add({ name: 'alice', extension: '201', timeZone: 'Asia/Tokyo' }, '1234');
  await t.ctx.mailboxes.add({ name: 'bob', extension: '202', fullName: 'Bob Chen' }, '1234');
  alice = await t.login('alice', '1234');
});
afterEach(async () => t.close());

async function deposit(mailbox = 'alice', extra: Record<string, unknown> = {}) {
  const [m] = await t.ctx.messages.deposit({
    mailbox,
    audio: wav,
    callerNumber: '5551234',
    callerName: '<b>Joe</b>',
    receivedAt: Date.UTC(2026, 0, 1, 12, 30),
    ...extra,
  });
  return m!;
}

describe('messages over the web API', () => {
  it('lists the inbox newest first with times in the mailbox zone, counts and caller data as text', async () => {
    const m = await deposit();
    await deposit('alice', { priority: 'high', private: true, receivedAt: Date.UTC(2026, 0, 2) });
    const res = await alice.call('GET', '/api/messages');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.counts).toEqual({ new: 2, old: 0, saved: 0, deleted: 0 });
    expect(body.total).toBe(2);
    expect(body.next).toBeNull();
    expect(body.messages[1]).toEqual({
      id: m.id,
      kind: 'message',
      state: 'new',
      deletedFrom: null,
      callerNumber: '5551234',
      callerName: '<b>Joe</b>',
      caller: '<b>Joe</b> (5551234)',
      receivedAt: '2026-01-01T12:30:00.000Z',
      receivedLocal: '2026-01-01 21:30',
      durationMs: 2000,
      priority: 'normal',
      private: false,
      forwardedFrom: null,
      emailError: null,
    });
    expect(body.messages[0]).toMatchObject({ priority: 'high', private: true });
  });

  it('answers an unchanged list with 304, and a changed one in full', async () => {
    const m = await deposit();
    const first = await alice.call('GET', '/api/messages');
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"\d+\.\d+-\d+-[\w-]+-Asia\/Tokyo"$/);
    // Another search of the same mailbox is another answer.
    const other = await alice.call('GET', '/api/messages?order=oldest');
    expect(other.headers.etag).not.toBe(etag);
    expect(
      (await alice.call('GET', '/api/messages', undefined, { 'if-none-match': etag })).statusCode,
    ).toBe(304);
    await t.ctx.messages.act(m.mailboxId, m.id, 'save');
    const changed = await alice.call('GET', '/api/messages', undefined, { 'if-none-match': etag });
    expect(changed.statusCode).toBe(200);
    expect(changed.json().messages[0].state).toBe('saved');
  });

  it("never answers one mailbox's list as unchanged to another mailbox's user", async () => {
    // Same time zone, same page asked, one deposit each: the same modification sequence.
    await t.ctx.mailboxes.add({ name: 'carol', extension: '203', timeZone: 'Asia/Tokyo' }, '1234');
    await deposit();
    await deposit('carol', { callerNumber: '5559999' });
    const aliceList = await alice.call('GET', '/api/messages');
    const carol = await t.login('carol', '1234');
    const carolList = await carol.call('GET', '/api/messages');
    const tag = (res: typeof aliceList) => String(res.headers.etag);
    // Only the mailbox part of the tags differs.
    expect(tag(carolList).replace(/^"[\d.]+-/, '')).toBe(tag(aliceList).replace(/^"[\d.]+-/, ''));
    // The browser, shared, asks with the tag of the list it showed before (alice's).
    const asked = await carol.call('GET', '/api/messages', undefined, {
      'if-none-match': tag(aliceList),
    });
    expect(asked.statusCode).toBe(200);
    expect(asked.json().messages.map((m: { callerNumber: string }) => m.callerNumber)).toEqual([
      '5559999',
    ]);
  });

  it('acts through the domain: play, unread, save, delete, undelete, purge', async () => {
    const m = await deposit();
    const act = async (action: string) =>
      (await alice.call('POST', `/api/messages/${m.id}/actions`, { action })).json().state;
    expect(await act('play')).toBe('old');
    expect(await act('markUnread')).toBe('new');
    expect(await act('save')).toBe('saved');
    expect(await act('delete')).toBe('deleted');
    expect(
      (await alice.call('GET', '/api/messages?folder=deleted'))
        .json()
        .messages.map((x: { id: string }) => x.id),
    ).toEqual([m.id]);
    expect(await act('undelete')).toBe('saved');
    const purgeLive = await alice.call('DELETE', `/api/messages/${m.id}`);
    expect(purgeLive.statusCode).toBe(409);
    await act('delete');
    expect((await alice.call('DELETE', `/api/messages/${m.id}`)).statusCode).toBe(204);
    expect((await alice.call('GET', `/api/messages/${m.id}`)).statusCode).toBe(404);
    expect(await t.ctx.store.getMessage(m.id)).toBeNull();
  });

  it("treats another mailbox's message as missing, and refuses malformed ids and bodies", async () => {
    const bobs = await deposit('bob');
    for (const [method, url, body] of [
      ['GET', `/api/messages/${bobs.id}`],
      ['GET', `/api/messages/${bobs.id}/audio`],
      ['GET', `/api/messages/${bobs.id}/peaks`],
      ['POST', `/api/messages/${bobs.id}/actions`, { action: 'delete' }],
      ['DELETE', `/api/messages/${bobs.id}`],
      ['POST', `/api/messages/${bobs.id}/forward`, { to: 'alice' }],
    ] as const) {
      const res = await alice.call(method, url, body);
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
    expect((await t.ctx.store.getMessage(bobs.id))?.state).toBe('new');
    const m = await deposit();
    expect((await alice.call('GET', '/api/messages/not-an-id')).statusCode).toBe(400);
    expect((await alice.call('GET', '/api/messages/../../etc/passwd')).statusCode).toBe(404);
    expect(
      (await alice.call('POST', `/api/messages/${m.id}/actions`, { action: 'explode' })).statusCode,
    ).toBe(400);
    expect((await alice.call('POST', `/api/messages/${m.id}/actions`, {})).statusCode).toBe(400);
    expect((await alice.call('GET', '/api/messages?folder=spam')).statusCode).toBe(400);
  });

  it('forwards to another mailbox, but never a private message', async () => {
    const m = await deposit();
    const res = await alice.call('POST', `/api/messages/${m.id}/forward`, { to: '202' });
    expect([res.statusCode, res.json()]).toEqual([201, { forwarded: 1 }]);
    expect((await t.ctx.messages.list((await t.ctx.mailboxes.resolve('bob')).id))[0]).toMatchObject(
      { forwardedFrom: 'alice', state: 'new' },
    );
    expect(
      (await alice.call('POST', `/api/messages/${m.id}/forward`, { to: 'nobody' })).statusCode,
    ).toBe(404);
    const p = await deposit('alice', { private: true });
    const refused = await alice.call('POST', `/api/messages/${p.id}/forward`, { to: 'bob' });
    expect([refused.statusCode, refused.json().message]).toEqual([
      403,
      'a private message cannot be forwarded',
    ]);
    const search = (await alice.call('GET', '/api/mailboxes?q=chen')).json();
    expect(search).toEqual({
      mailboxes: [{ name: 'bob', extension: '202', fullName: 'Bob Chen' }],
    });
  });

  it('serves the audio with Range, a browser-playable stream of G.711, and peaks', async () => {
    const m = await deposit();
    const full = await alice.call('GET', `/api/messages/${m.id}/audio?download=1`);
    expect(full.statusCode).toBe(200);
    expect(full.rawPayload.equals(Buffer.from(wav))).toBe(true);
    // Named in the mailbox's time (Tokyo), as the list shows it, not in UTC (12:30).
    expect(full.headers['content-disposition']).toBe(
      'attachment; filename="voicemail-20260101-2130.wav"',
    );
    const part = await alice.call('GET', `/api/messages/${m.id}/audio`, undefined, {
      range: 'bytes=100-199',
    });
    expect([part.statusCode, part.headers['content-range'], part.rawPayload.length]).toEqual([
      206,
      `bytes 100-199/${wav.length}`,
      100,
    ]);
    expect(part.rawPayload.equals(Buffer.from(wav.subarray(100, 200)))).toBe(true);
    const tail = await alice.call('GET', `/api/messages/${m.id}/audio`, undefined, {
      range: 'bytes=-10',
    });
    expect(tail.rawPayload.equals(Buffer.from(wav.subarray(wav.length - 10)))).toBe(true);
    expect(
      (
        await alice.call('GET', `/api/messages/${m.id}/audio`, undefined, {
          range: `bytes=${wav.length}-`,
        })
      ).statusCode,
    ).toBe(416);

    const pcm = parseWav(wav);
    const ulaw = encodeWav({
      encoding: 'mulaw',
      sampleRate: 8000,
      channels: 1,
      data: encodeUlaw(new Int16Array(pcm.data.buffer, pcm.data.byteOffset, pcm.data.length / 2)),
    });
    const [u] = await t.ctx.messages.deposit({ mailbox: 'alice', audio: ulaw });
    const stream = await alice.call('GET', `/api/messages/${u!.id}/stream`);
    const played = parseWav(stream.rawPayload);
    expect([
      stream.headers['content-type'],
      played.encoding,
      played.sampleRate,
      played.durationMs,
    ]).toEqual(['audio/wav', 'pcm16', 8000, 2000]);
    const peaks = (await alice.call('GET', `/api/messages/${m.id}/peaks`)).json().peaks as number[];
    expect(peaks).toHaveLength(200);
    expect(Math.max(...peaks)).toBeGreaterThan(0.1);
    expect(Math.max(...peaks)).toBeLessThanOrEqual(1);
  });
});

describe('greetings and settings over the web API', () => {
  it('uploads a WAV and an Ogg greeting (converted to 8 kHz), plays, activates and deletes them', async () => {
    const hifi = toneWav({ seconds: 3, sampleRate: 16000 });
    const res = await alice.call('PUT', '/api/greetings/unavailable', Buffer.from(hifi), {
      'content-type': 'audio/wav',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().greetings).toEqual([
      { kind: 'unavailable', durationMs: 3000, updatedAt: expect.any(String) },
    ]);
    const whole = (await alice.call('GET', '/api/greetings/unavailable/audio')).rawPayload;
    const played = parseWav(whole);
    expect([played.encoding, played.sampleRate, played.channels]).toEqual(['pcm16', 8000, 1]);
    // Seeking in the player: a range streamed from the audio store.
    const part = await alice.call('GET', '/api/greetings/unavailable/audio', undefined, {
      range: 'bytes=1000-4999',
    });
    expect([part.statusCode, part.headers['content-range']]).toEqual([
      206,
      `bytes 1000-4999/${whole.length}`,
    ]);
    expect(part.rawPayload.equals(whole.subarray(1000, 5000))).toBe(true);
    const ogg = execFileSync('sox', ['-n', '-t', 'ogg', '-', 'synth', '2', 'sine', '300']);
    const fromOgg = await alice.call('PUT', '/api/greetings/busy', ogg, {
      'content-type': 'audio/ogg',
    });
    expect(fromOgg.statusCode).toBe(200);
    expect(
      fromOgg.json().greetings.find((g: { kind: string }) => g.kind === 'busy').durationMs,
    ).toBeGreaterThan(1900);
    expect(
      (await alice.call('PUT', '/api/greetings/active', { active: 'busy' })).json().active,
    ).toBe('busy');
    expect((await alice.call('PUT', '/api/greetings/active', { active: 'name' })).statusCode).toBe(
      400,
    );
    const junk = await alice.call('PUT', '/api/greetings/temporary', Buffer.from('not audio'), {
      'content-type': 'audio/wav',
    });
    expect(junk.statusCode).toBe(415);
    expect((await alice.call('DELETE', '/api/greetings/busy')).statusCode).toBe(204);
    expect((await alice.call('DELETE', '/api/greetings/busy')).statusCode).toBe(404);
  });

  it('stores the e-mail address and mode, refusing a mode without an address', async () => {
    expect(
      (await alice.call('PUT', '/api/settings/email', { email: null, mode: 'copy' })).statusCode,
    ).toBe(400);
    expect(
      (await alice.call('PUT', '/api/settings/email', { email: 'not-an-address', mode: 'off' }))
        .statusCode,
    ).toBe(400);
    const ok = await alice.call('PUT', '/api/settings/email', {
      email: 'alice@example.com',
      mode: 'alert',
    });
    expect(ok.json()).toEqual({ email: 'alice@example.com', mode: 'alert' });
    expect((await alice.call('GET', '/api/settings/email')).json()).toEqual({
      email: 'alice@example.com',
      mode: 'alert',
    });
    expect((await t.ctx.mailboxes.resolve('alice')).emailMode).toBe('alert');
  });

  it('refuses the old e-mail mode "exchange" from the owner and the administrator alike', async () => {
    const refused = await alice.call('PUT', '/api/settings/email', {
      email: 'alice@contoso.example',
      mode: 'exchange',
    });
    expect(refused.statusCode).toBe(400);
    const gone = {
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/"exchange" is gone: .*--home exchange --exchange-address/),
    };
    await expect(
      t.ctx.mailboxes.updateOwnEmail('alice', {
        email: 'a@example.com',
        emailMode: 'exchange' as 'off',
      }),
    ).rejects.toMatchObject(gone);
    await expect(
      t.ctx.mailboxes.update('alice', { email: 'a@example.com', emailMode: 'exchange' as 'off' }),
    ).rejects.toMatchObject(gone);
    expect((await alice.call('GET', '/api/settings/email')).json()).toEqual({
      email: null,
      mode: 'off',
    });
  });

  it('answers 503 for play on my phone when the phone part is not running', async () => {
    const m = await deposit();
    const res = await alice.call('POST', `/api/messages/${m.id}/play-on-phone`, {});
    expect(res.statusCode).toBe(503);
    // Asked before the button is offered, the server says so.
    const reach = await alice.call('GET', '/api/phone-reach');
    expect(reach.json()).toEqual({ reachable: false, number: null, reason: 'no-telephony' });
  });
});

describe('a long message over the web API', () => {
  it('is served in ranges and whole, streamed from the audio store beyond the player cache', async () => {
    const long = await apiApp({ policy: { maxMessageSeconds: 3600 } });
    try {
      await long.ctx.mailboxes.add({ name: 'carol', extension: '203' }, '1234');
      // 10 minutes of 16 kHz PCM: more than the player's cache keeps.
      const audio = toneWav({ seconds: 600, sampleRate: 16000 });
      const [m] = await long.ctx.messages.deposit({ mailbox: 'carol', audio });
      const carol = await long.login('carol', '1234');
      const start = audio.length - 1_000_000;
      const part = await carol.call('GET', `/api/messages/${m!.id}/audio`, undefined, {
        range: `bytes=${start}-`,
      });
      expect([part.statusCode, part.headers['content-range']]).toEqual([
        206,
        `bytes ${start}-${audio.length - 1}/${audio.length}`,
      ]);
      expect(part.rawPayload.equals(Buffer.from(audio.subarray(start)))).toBe(true);
      const whole = await carol.call('GET', `/api/messages/${m!.id}/stream`);
      expect(whole.rawPayload.equals(Buffer.from(audio))).toBe(true);
    } finally {
      await long.close();
    }
  });
});
