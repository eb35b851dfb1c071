import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { apiApp } from '../helpers/api-app.ts';

let t: Awaited<ReturnType<typeof apiApp>>;
beforeEach(async () => {
  t = await apiApp({ policy: { lockout: { failures: 3, minutes: 15 } } });
  await t.ctx.mailboxes.add({ name: 'alice', extension: '201', timeZone: 'Europe/Paris' }, '1234');
});
afterEach(async () => t.close());

const login = (mailbox: string, code: string) =>
  t.app.inject({ method: 'POST', url: '/api/login', payload: { mailbox, code } });

describe('web log-in', () => {
  it('logs in by extension with a secure, HttpOnly, SameSite=Strict session cookie', async () => {
    const res = await login('201', '1234');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      mailbox: { name: 'alice', extension: '201', timeZone: 'Europe/Paris' },
    });
    const cookie = res.cookies.find((c) => c.name === 'vg_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
    expect(cookie.value.length).toBeGreaterThanOrEqual(40);
    // The store keeps only a hash of the token.
    expect(await t.ctx.store.getWebSession(cookie.value, Date.now())).toBeNull();
  });

  it('refuses a wrong code, then locks, sharing the lockout with the other channels', async () => {
    expect((await login('alice', '0000')).statusCode).toBe(401);
    const refused = {
      error: 'AUTH_FAILED',
      message:
        'wrong mailbox or code (after repeated wrong codes, log-ins are refused for a while)',
    };
    expect((await login('alice', '0001')).json()).toEqual(refused);
    // The third wrong code locks; the lock reads like a wrong code, so it names no mailbox.
    expect((await login('alice', '0002')).json()).toEqual(refused);
    const right = await login('alice', '1234');
    expect(right.statusCode).toBe(401);
    expect(right.json()).toEqual(refused);
    await expect(
      t.ctx.mailboxes.authenticate('alice', '1234', { channel: 'imap', remote: 'x' }),
    ).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    expect((await login('nobody', '1234')).json()).toEqual(refused);
  });

  it('refuses a mailbox without UMS access, and malformed bodies', async () => {
    await t.ctx.mailboxes.add({ name: 'lobby', umsAccess: false }, '1234');
    expect((await login('lobby', '1234')).statusCode).toBe(403);
    for (const payload of [
      {},
      { mailbox: 'alice' },
      { mailbox: 'alice', code: { digits: '1234' } },
      { mailbox: '', code: '1' },
      { mailbox: 'alice', code: '1234', extra: 1 },
    ]) {
      const res = await t.app.inject({ method: 'POST', url: '/api/login', payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error).toBe('INVALID_INPUT');
    }
    const notJson = await t.app.inject({
      method: 'POST',
      url: '/api/login',
      payload: '{oops',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.statusCode).toBe(400);
  });

  it('requires a session for the API and the CSRF token for every change', async () => {
    expect((await t.app.inject('/api/messages')).statusCode).toBe(401);
    expect(
      (await t.app.inject({ url: '/api/messages', headers: { cookie: 'vg_session=forged' } }))
        .statusCode,
    ).toBe(401);
    const c = await t.login('alice', '1234');
    expect((await c.call('GET', '/api/messages')).statusCode).toBe(200);
    const noCsrf = await t.app.inject({
      method: 'PUT',
      url: '/api/settings/email',
      headers: c.headers,
      payload: { email: null, mode: 'off' },
    });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json().message).toMatch(/CSRF/);
    const wrongCsrf = await t.app.inject({
      method: 'PUT',
      url: '/api/settings/email',
      headers: { ...c.headers, 'x-csrf-token': 'x' + c.csrf.slice(1) },
      payload: { email: null, mode: 'off' },
    });
    expect(wrongCsrf.statusCode).toBe(403);
    expect((await c.call('GET', '/api/session')).json()).toMatchObject({ csrfToken: c.csrf });
  });

  it('logs out, and sessions expire', async () => {
    const c = await t.login('alice', '1234');
    expect((await c.call('POST', '/api/logout')).statusCode).toBe(204);
    expect((await c.call('GET', '/api/messages')).statusCode).toBe(401);
    const d = await t.login('alice', '1234');
    // Past the 12 hours a session lasts at most.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 12 * 3_600_000 + 1000 });
    try {
      expect((await d.call('GET', '/api/messages')).statusCode).toBe(401);
    } finally {
      vi.useRealTimers();
    }
  });

  it('changes the code under the policy, ends other sessions, and the new code logs in', async () => {
    const c = await t.login('alice', '1234');
    const other = await t.login('alice', '1234');
    expect(
      (await c.call('PUT', '/api/code', { oldCode: '9999', newCode: '5678' })).statusCode,
    ).toBe(401);
    const short = await c.call('PUT', '/api/code', { oldCode: '1234', newCode: '56' });
    expect([short.statusCode, short.json().message]).toEqual([
      400,
      'a voicemail code has at least 4 digits',
    ]);
    expect(
      (await c.call('PUT', '/api/code', { oldCode: '1234', newCode: '5678' })).statusCode,
    ).toBe(204);
    expect((await c.call('GET', '/api/messages')).statusCode).toBe(200);
    expect((await other.call('GET', '/api/messages')).statusCode).toBe(401);
    expect((await login('alice', '1234')).statusCode).toBe(401);
    expect((await login('alice', '5678')).statusCode).toBe(200);
  });

  it('publishes its OpenAPI document', async () => {
    const doc = (await t.app.inject('/api/openapi.json')).json() as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of [
      '/api/login',
      '/api/messages',
      '/api/messages/{id}/audio',
      '/api/messages/{id}/forward',
      '/api/greetings/{kind}',
      '/api/code',
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
  });
});
