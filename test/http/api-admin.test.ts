import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { CLI_ACTOR } from '../../server/domain/audit.ts';
import { apiApp } from '../helpers/api-app.ts';
import { toneWav } from '../../server/media/tone.ts';

let t: Awaited<ReturnType<typeof apiApp>>;
const PASSWORD = 'a long admin password';
beforeAll(async () => {
  t = await apiApp({ policy: { lockout: { failures: 3, minutes: 15 } } });
  await t.ctx.admins.add('root', PASSWORD, CLI_ACTOR);
  await t.ctx.mailboxes.add(
    { name: 'alice', extension: '201', email: 'alice@example.com', emailMode: 'copy' },
    '1234',
  );
});
afterAll(async () => t.close());

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** An administrator's client: the session cookie, and the CSRF token on every change. */
async function adminLogin(name: string, password: string, totp?: string) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/admin/login',
    payload: { name, password, ...(totp ? { totp } : {}) },
  });
  if (res.statusCode !== 200) return { res, call: undefined };
  const cookie = res.cookies.find((c) => c.name === 'vg_session')!;
  const csrf = (res.json() as { csrfToken: string }).csrfToken;
  const call = (method: Method, url: string, payload?: object): Promise<LightMyRequestResponse> =>
    t.app.inject({
      method,
      url,
      headers: {
        cookie: `vg_session=${cookie.value}`,
        ...(method === 'GET' ? {} : { 'x-csrf-token': csrf }),
      },
      ...(payload ? { payload } : {}),
    });
  return { res, call, cookie };
}

/** Every /api/admin route behind the log-in, with a harmless body. */
const ROUTES: [Method, string, object?][] = [
  ['GET', '/api/admin/session'],
  ['POST', '/api/admin/logout'],
  ['POST', '/api/admin/totp/proposal'],
  ['PUT', '/api/admin/totp', { secret: 'JBSWY3DPEHPK3PXPJBSWY3DP', code: '123456' }],
  ['DELETE', '/api/admin/totp'],
  ['GET', '/api/admin/admins'],
  ['POST', '/api/admin/admins', { name: 'x', password: 'xxxxxxxxxxxx' }],
  ['PUT', '/api/admin/admins/root/password', { password: 'xxxxxxxxxxxx' }],
  ['DELETE', '/api/admin/admins/root'],
  ['GET', '/api/admin/mailboxes'],
  ['POST', '/api/admin/mailboxes', { name: 'x', code: '1234' }],
  ['GET', '/api/admin/mailboxes/alice'],
  ['PATCH', '/api/admin/mailboxes/alice', { fullName: 'x' }],
  ['PUT', '/api/admin/mailboxes/alice/code', { code: '9999' }],
  ['POST', '/api/admin/mailboxes/alice/unlock'],
  ['DELETE', '/api/admin/mailboxes/alice?confirm=alice'],
  ['GET', '/api/admin/queue'],
  ['POST', '/api/admin/queue/1/retry'],
  ['DELETE', '/api/admin/queue/1'],
  ['GET', '/api/admin/audit'],
  ['GET', '/api/admin/status'],
  ['GET', '/api/admin/topology'],
  ['POST', '/api/admin/topology/failback'],
];

describe('/api/admin refusals', () => {
  it('refuses every route without a session (401), to a mailbox (403), a change without CSRF (403)', async () => {
    const mailbox = await t.login('alice', '1234');
    const admin = await adminLogin('root', PASSWORD);
    for (const [method, url, payload] of ROUTES) {
      const anon = await t.app.inject({ method, url, ...(payload ? { payload } : {}) });
      expect([url, anon.statusCode, anon.json().error]).toEqual([url, 401, 'UNAUTHENTICATED']);
      const asMailbox = await mailbox.call(method as 'GET', url, payload);
      expect([url, asMailbox.statusCode, asMailbox.json().message]).toEqual([
        url,
        403,
        'this needs an administrator; a mailbox session cannot use it',
      ]);
      if (method !== 'GET') {
        const noCsrf = await t.app.inject({
          method,
          url,
          headers: { cookie: `vg_session=${admin.cookie!.value}` },
          ...(payload ? { payload } : {}),
        });
        expect([url, noCsrf.statusCode, noCsrf.json().message]).toEqual([
          url,
          403,
          'missing or wrong CSRF token (X-CSRF-Token header)',
        ]);
      }
    }
    // Nothing was changed by any of them.
    expect((await t.ctx.mailboxes.resolve('alice')).fullName).toBe('');
    // And an administrator's session has no mailbox.
    const inbox = await admin.call!('GET', '/api/messages');
    expect(inbox.statusCode).toBe(403);
  });

  it('names the field a schema refuses', async () => {
    const { call } = await adminLogin('root', PASSWORD);
    const bad = await call!('PATCH', '/api/admin/mailboxes/alice', { breakouts: { '5': '100' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'INVALID_INPUT', field: 'breakouts.5' });
    const extra = await call!('POST', '/api/admin/mailboxes', {
      name: 'bob',
      code: '1234',
      colour: 'red',
    });
    expect(extra.json()).toMatchObject({ field: 'colour' });
    const missing = await call!('POST', '/api/admin/mailboxes', { name: 'bob' });
    expect(missing.json()).toMatchObject({ field: 'code' });
  });
});

describe('administrator log-in', () => {
  it('locks an administrator after repeated wrong passwords, and puts each try on record', async () => {
    await t.ctx.admins.add('ann', 'ann password 1', CLI_ACTOR);
    for (let i = 0; i < 3; i++) {
      const { res } = await adminLogin('ann', 'wrong password');
      expect(res.statusCode).toBe(401);
    }
    const right = await adminLogin('ann', 'ann password 1');
    expect(right.res.statusCode).toBe(401);
    expect(right.res.json().message).toMatch(/^wrong name, password or one-time code/);
    const { call } = await adminLogin('root', PASSWORD);
    const audit = (await call!('GET', '/api/admin/audit?limit=20')).json().records as {
      kind: string;
      principal: string;
      outcome: string;
      reason: string;
    }[];
    const ann = audit
      .filter((r) => r.principal === 'admin:ann')
      .map((r) => `${r.kind} ${r.reason}`);
    expect(ann.slice(0, 3)).toEqual([
      'login locked',
      'lockout administrator locked for 15 minutes after 3 failures',
      'login wrong password',
    ]);
    await t.ctx.admins.unlock('ann', CLI_ACTOR);
    expect((await adminLogin('ann', 'ann password 1')).res.statusCode).toBe(200);
  });

  it('enrols a second factor from the page, then asks for the one-time code', async () => {
    await t.ctx.admins.add('tess', 'tess password 1', CLI_ACTOR);
    const { call } = await adminLogin('tess', 'tess password 1');
    const proposal = (await call!('POST', '/api/admin/totp/proposal')).json() as {
      secret: string;
      uri: string;
    };
    expect(proposal.uri).toMatch(/^otpauth:\/\/totp\/.*tess\?.*secret=/);
    const app = new TOTP({ secret: Secret.fromBase32(proposal.secret) });
    const wrong = await call!('PUT', '/api/admin/totp', {
      secret: proposal.secret,
      code: '000000' === app.generate() ? '111111' : '000000',
    });
    expect(wrong.statusCode).toBe(400);
    expect(
      (await call!('PUT', '/api/admin/totp', { secret: proposal.secret, code: app.generate() }))
        .statusCode,
    ).toBe(204);

    const noCode = await adminLogin('tess', 'tess password 1');
    expect(noCode.res.statusCode).toBe(401);
    expect(noCode.res.json()).toEqual({
      error: 'AUTH_FAILED',
      message: 'enter the one-time code from your authenticator app',
      field: 'totp',
    });
    // The code shown to enrol is used up: the log-in takes the app's next one.
    expect((await adminLogin('tess', 'tess password 1', app.generate())).res.statusCode).toBe(401);
    const next = app.generate({ timestamp: Date.now() + 30_000 });
    const withCode = await adminLogin('tess', 'tess password 1', next);
    expect(withCode.res.statusCode).toBe(200);
    expect(withCode.res.json().admin).toMatchObject({ name: 'tess', totp: true });
    // Seen over a shoulder or replayed, the same code opens nothing more.
    const replay = await adminLogin('tess', 'tess password 1', next);
    expect(replay.res.statusCode).toBe(401);
    expect(replay.res.json()).toMatchObject({ error: 'AUTH_FAILED' });
    const reasons = (
      await t.ctx.store.queryAudit({ principal: 'admin:tess', kind: 'login', limit: 3 })
    ).map((r) => `${r.outcome} ${r.reason}`);
    expect(reasons).toEqual([
      'failure one-time code already used',
      'success password and one-time code',
      'failure one-time code already used',
    ]);
    const badCode = await adminLogin(
      'tess',
      'tess password 1',
      '999999' === app.generate() ? '999998' : '999999',
    );
    expect(badCode.res.statusCode).toBe(401);
  });
});

describe('administration', () => {
  it('adds a mailbox, finds it, changes it, resets its code, unlocks it, removes it', async () => {
    const { call } = await adminLogin('root', PASSWORD);
    const added = await call!('POST', '/api/admin/mailboxes', {
      name: 'bob',
      extension: '202',
      fullName: 'Bob Jones',
      code: '5555',
    });
    expect(added.statusCode).toBe(201);
    expect(added.json()).toMatchObject({ name: 'bob', extension: '202', lockedUntil: null });
    const page = (await call!('GET', '/api/admin/mailboxes?q=jones&limit=10')).json();
    expect(page).toMatchObject({ total: 1, mailboxes: [{ name: 'bob' }] });
    expect((await call!('GET', '/api/admin/mailboxes?limit=1&offset=1')).json()).toMatchObject({
      total: 2,
      mailboxes: [{ name: 'bob' }],
    });
    const changed = await call!('PATCH', '/api/admin/mailboxes/202', { fullName: 'Robert Jones' });
    expect(changed.json()).toMatchObject({ fullName: 'Robert Jones' });

    // Three wrong codes on the web lock bob; the administrator sees it and unlocks him.
    for (const code of ['0000', '0001', '0002'])
      await t.app.inject({ method: 'POST', url: '/api/login', payload: { mailbox: 'bob', code } });
    const locked = (await call!('GET', '/api/admin/mailboxes/bob')).json();
    expect(locked.lockedUntil).toBeGreaterThan(Date.now());
    expect((await call!('POST', '/api/admin/mailboxes/bob/unlock')).statusCode).toBe(204);
    expect((await call!('GET', '/api/admin/mailboxes/bob')).json()).toMatchObject({
      lockedUntil: null,
    });
    expect((await call!('PUT', '/api/admin/mailboxes/bob/code', { code: '7777' })).statusCode).toBe(
      204,
    );
    await t.login('bob', '7777');

    const audit = (await call!('GET', '/api/admin/audit?mailbox=bob')).json().records as {
      kind: string;
      channel: string;
      outcome: string;
      principal: string | null;
      client: string | null;
      details: unknown;
    }[];
    expect(audit.map((r) => `${r.kind} ${r.channel} ${r.outcome}`)).toEqual([
      'login web success',
      'code-change admin-web success',
      'unlock admin-web success',
      'lockout web failure',
      'login web failure',
      'login web failure',
      'login web failure',
      'mailbox-change admin-web success',
      'mailbox-change admin-web success',
    ]);
    expect(audit[7]!.details).toEqual({ fullName: { before: 'Bob Jones', after: 'Robert Jones' } });
    expect(audit[1]!.principal).toBe('admin:root');
    expect(audit[4]!.client).toBe('127.0.0.1');
    expect(JSON.stringify(audit)).not.toMatch(/7777|5555|scrypt/);

    const unconfirmed = await call!('DELETE', '/api/admin/mailboxes/bob?confirm=bo');
    expect(unconfirmed.json()).toMatchObject({ error: 'INVALID_INPUT' });
    expect(unconfirmed.json().message).toMatch(/^confirm: repeat the mailbox's name \("bob"\)/);
    expect((await call!('DELETE', '/api/admin/mailboxes/bob?confirm=bob')).statusCode).toBe(204);
    expect((await call!('GET', '/api/admin/mailboxes/bob')).statusCode).toBe(404);
  });

  it('shows the queue by target, retries and drops an item', async () => {
    const { call } = await adminLogin('root', PASSWORD);
    await t.ctx.messages.deposit({ mailbox: 'alice', audio: toneWav({ seconds: 2 }) });
    const queue = (await call!('GET', '/api/admin/queue?target=smtp')).json().items as {
      id: number;
      recipient: string;
      status: string;
    }[];
    expect(queue).toMatchObject([{ recipient: 'alice@example.com', status: 'pending' }]);
    expect((await call!('GET', '/api/admin/queue?target=ews')).json().items).toEqual([]);
    expect((await call!('POST', `/api/admin/queue/${queue[0]!.id}/retry`)).statusCode).toBe(204);
    expect((await call!('DELETE', `/api/admin/queue/${queue[0]!.id}`)).statusCode).toBe(204);
    expect((await call!('GET', '/api/admin/queue')).json().items).toEqual([]);
    expect((await call!('POST', `/api/admin/queue/${queue[0]!.id}/retry`)).statusCode).toBe(404);
    const audit = (await call!('GET', '/api/admin/audit?kind=queue-change')).json().records;
    expect(audit.map((r: { reason: string }) => r.reason)).toEqual(['dropped', 'retry now']);
  });

  it('manages administrators, never removing the last', async () => {
    const { call } = await adminLogin('root', PASSWORD);
    expect(
      (await call!('POST', '/api/admin/admins', { name: 'dora', password: 'dora password' }))
        .statusCode,
    ).toBe(201);
    const names = (await call!('GET', '/api/admin/admins'))
      .json()
      .admins.map((a: { name: string }) => a.name);
    expect(names).toContain('dora');
    expect(JSON.stringify(names)).not.toMatch(/scrypt/);
    expect((await call!('DELETE', '/api/admin/admins/dora')).statusCode).toBe(204);
    expect(
      (await call!('PUT', '/api/admin/admins/root/password', { password: 'short' })).json(),
    ).toMatchObject({ field: 'password' });
  });

  it('shows the status and is in the OpenAPI document', async () => {
    const { call } = await adminLogin('root', PASSWORD);
    const status = (await call!('GET', '/api/admin/status')).json();
    expect(status).toMatchObject({ version: 'test', store: { ok: true, problem: null } });
    expect(status.disk.freeBytes).toBeGreaterThan(0);
    const doc = (await t.app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
    for (const [, url] of ROUTES) {
      const path = url
        .split('?')[0]!
        .replace('/alice', '/{mailbox}')
        .replace('/root', '/{name}')
        .replace('/1/', '/{id}/')
        .replace(/\/1$/, '/{id}');
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(Object.keys(doc.paths)).toContain('/api/admin/login');
  });

  it('says a standalone server has no topology and no failback', async () => {
    const { call } = await adminLogin('root', PASSWORD);
    const topology = await call!('GET', '/api/admin/topology');
    expect([topology.statusCode, topology.json().message]).toEqual([
      409,
      'this server is standalone: set server.role and topology to join a network',
    ]);
    const failback = await call!('POST', '/api/admin/topology/failback');
    expect([failback.statusCode, failback.json().message]).toEqual([
      409,
      'only a backup server hands control back',
    ]);
  });
});
