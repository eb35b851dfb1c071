/** /api/admin: every mailbox setting, members, greetings, administrators, call flows, status. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../../server/domain/audit.ts';
import { toneWav } from '../../server/media/tone.ts';
import { apiApp } from '../helpers/api-app.ts';

let t: Awaited<ReturnType<typeof apiApp>>;
const PASSWORD = 'a long admin password';
type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
let call: (
  method: Method,
  url: string,
  payload?: object | Buffer,
  headers?: Record<string, string>,
) => Promise<LightMyRequestResponse>;
let cookie = '';
let csrf = '';

beforeAll(async () => {
  t = await apiApp({ sip: { accessNumbers: ['800'] } });
  await t.ctx.admins.add('root', PASSWORD, CLI_ACTOR);
  await t.ctx.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  await t.ctx.mailboxes.add({ name: 'bob', extension: '202' }, '1234');
  await t.ctx.mailboxes.add({ name: 'sales', extension: '300', kind: 'group' }, '1234');
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/admin/login',
    payload: { name: 'root', password: PASSWORD },
  });
  cookie = res.cookies.find((c) => c.name === 'vg_session')!.value;
  csrf = res.json().csrfToken;
  call = (method, url, payload, headers = {}) =>
    t.app.inject({
      method,
      url,
      headers: {
        cookie: `vg_session=${cookie}`,
        ...(method === 'GET' ? {} : { 'x-csrf-token': csrf }),
        ...headers,
      },
      ...(payload ? { payload } : {}),
    });
});
afterAll(async () => t.close());

/** Each new route, with a harmless body. */
const ROUTES: [Method, string, object?][] = [
  ['GET', '/api/admin/mailboxes/alice/settings'],
  ['GET', '/api/admin/mailboxes/sales/members'],
  ['PUT', '/api/admin/mailboxes/sales/members', { members: [] }],
  ['GET', '/api/admin/mailboxes/alice/greetings'],
  ['GET', '/api/admin/mailboxes/alice/greetings/busy/audio'],
  ['PUT', '/api/admin/mailboxes/alice/greetings/busy'],
  ['DELETE', '/api/admin/mailboxes/alice/greetings/busy'],
  ['POST', '/api/admin/admins/root/unlock'],
  ['DELETE', '/api/admin/admins/root/totp'],
  ['GET', '/api/admin/flows'],
  ['POST', '/api/admin/flows/check', { text: 'flows: {}' }],
];

describe('the admin routes added for every setting', () => {
  it('refuse without a session (401), to a mailbox (403), a change without CSRF (403)', async () => {
    const mailbox = await t.login('bob', '1234');
    for (const [method, url, payload] of ROUTES) {
      const anon = await t.app.inject({ method, url, ...(payload ? { payload } : {}) });
      expect([url, anon.statusCode]).toEqual([url, 401]);
      const asMailbox = await mailbox.call(method as 'GET', url, payload);
      expect([url, asMailbox.statusCode]).toEqual([url, 403]);
      if (method !== 'GET') {
        const noCsrf = await t.app.inject({
          method,
          url,
          headers: { cookie: `vg_session=${cookie}` },
          ...(payload ? { payload } : {}),
        });
        expect([url, noCsrf.statusCode, noCsrf.json().message]).toEqual([
          url,
          403,
          'missing or wrong CSRF token (X-CSRF-Token header)',
        ]);
      }
    }
    const doc = (await t.app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
    for (const [, url] of ROUTES)
      expect(Object.keys(doc.paths)).toContain(
        url
          .replace(/\/(alice|sales)\//, '/{mailbox}/')
          .replace('/busy', '/{kind}')
          .replace('/root/', '/{name}/'),
      );
  });

  it('changes every setting the CLI has, the e-mail password write-only and masked', async () => {
    const changed = await call('PATCH', '/api/admin/mailboxes/alice', {
      fullName: 'Alice Smith',
      email: 'alice@example.com',
      emailMode: 'copy',
      locale: 'fr-FR',
      timeZone: 'Europe/Paris',
      umsAccess: false,
      trustedNumbers: ['+33123456789'],
      breakouts: { '0': '100' },
      activeGreeting: 'busy',
      sipPassword: 'a phone password',
      readEmail: 'imaps://alice@mail.example.com',
      readEmailSecret: 'imap secret 42',
    });
    expect(changed.statusCode).toBe(200);
    const shown = (await call('GET', '/api/admin/mailboxes/alice/settings')).json();
    expect(shown).toMatchObject({
      mailbox: {
        fullName: 'Alice Smith',
        emailMode: 'copy',
        locale: 'fr-FR',
        timeZone: 'Europe/Paris',
        umsAccess: false,
        trustedNumbers: ['+33123456789'],
        breakouts: { '0': '100' },
        activeGreeting: 'busy',
      },
      home: { home: 'local' },
      sip: { user: '201' },
      readEmail: {
        source: 'imap',
        imap: { host: 'mail.example.com', port: 993, user: 'alice' },
        secret: '********',
      },
      members: null,
    });
    const audit = JSON.stringify(
      (await call('GET', '/api/admin/audit?mailbox=alice&kind=mailbox-change')).json(),
    );
    expect(audit).toContain('e-mail reading changed');
    expect(audit).toContain('SIP password set');
    expect(audit).not.toMatch(/imap secret 42|a phone password/);

    // Refusals name the field, or say what goes with what.
    const noSecret = await call('PATCH', '/api/admin/mailboxes/alice', {
      readEmail: 'imaps://other@mail.example.com',
    });
    expect(noSecret.statusCode).toBe(400);
    expect(noSecret.json().message).toMatch(/password of other@mail.example.com is needed/);
    const orphan = await call('PATCH', '/api/admin/mailboxes/alice', { readEmailSecret: 'x' });
    expect(orphan.json().message).toMatch(/^readEmailSecret: goes with readEmail/);
    const shortSip = await call('PATCH', '/api/admin/mailboxes/alice', { sipPassword: 'short' });
    expect(shortSip.json()).toMatchObject({ error: 'INVALID_INPUT', field: 'sipPassword' });
    const badHome = await call('PATCH', '/api/admin/mailboxes/alice', { home: 'mars' });
    expect(badHome.json()).toMatchObject({ field: 'home' });
    // The old e-mail mode "exchange" is the home now.
    const oldMode = await call('PATCH', '/api/admin/mailboxes/alice', { emailMode: 'exchange' });
    expect(oldMode.statusCode).toBe(400);
    expect(oldMode.json()).toMatchObject({ error: 'INVALID_INPUT', field: 'emailMode' });
    const exchange = await call('PATCH', '/api/admin/mailboxes/alice', {
      home: 'exchange',
      exchangeAddress: 'alice@corp.example.com',
    });
    expect(exchange.statusCode).toBe(400);

    const off = await call('PATCH', '/api/admin/mailboxes/alice', {
      readEmail: 'off',
      sipPassword: null,
    });
    expect(off.statusCode).toBe(200);
    expect((await call('GET', '/api/admin/mailboxes/alice/settings')).json()).toMatchObject({
      readEmail: { source: 'off', secret: null },
      sip: null,
    });
  });

  it("sets a hunt group's members", async () => {
    const set = await call('PUT', '/api/admin/mailboxes/sales/members', {
      members: ['alice', '202'],
    });
    expect(set.json().members.map((m: { name: string }) => m.name)).toEqual(['alice', 'bob']);
    expect((await call('GET', '/api/admin/mailboxes/sales/settings')).json().members).toEqual([
      'alice',
      'bob',
    ]);
    const notGroup = await call('PUT', '/api/admin/mailboxes/alice/members', { members: [] });
    expect(notGroup.json().message).toBe('"alice" is not a hunt group');
    const unknown = await call('PUT', '/api/admin/mailboxes/sales/members', {
      members: ['nobody'],
    });
    expect(unknown.statusCode).toBe(404);
    const audit = (await call('GET', '/api/admin/audit?mailbox=sales')).json().records;
    expect(audit[0]).toMatchObject({
      reason: 'members changed',
      principal: 'admin:root',
      details: { before: { members: [] }, after: { members: ['alice', 'bob'] } },
    });
  });

  it('uploads a greeting, plays it back and removes it; refuses what is not audio', async () => {
    const wav = Buffer.from(toneWav({ seconds: 1 }));
    const up = await call('PUT', '/api/admin/mailboxes/bob/greetings/busy', wav, {
      'content-type': 'audio/wav',
    });
    expect(up.statusCode).toBe(200);
    expect(up.json().greetings).toMatchObject([{ kind: 'busy', durationMs: 1000 }]);
    const audio = await call('GET', '/api/admin/mailboxes/bob/greetings/busy/audio', undefined, {
      range: 'bytes=0-3',
    });
    expect([audio.statusCode, audio.headers['content-type'], audio.body]).toEqual([
      206,
      'audio/wav',
      'RIFF',
    ]);
    const junk = await call('PUT', '/api/admin/mailboxes/bob/greetings/busy', Buffer.from('no'), {
      'content-type': 'audio/wav',
    });
    expect(junk.statusCode).toBe(415);
    const json = await call('PUT', '/api/admin/mailboxes/bob/greetings/busy', { a: 1 });
    expect(json.statusCode).toBe(415);
    const kind = await call('PUT', '/api/admin/mailboxes/bob/greetings/party', wav, {
      'content-type': 'audio/wav',
    });
    expect(kind.json()).toMatchObject({ field: 'kind' });
    expect((await call('DELETE', '/api/admin/mailboxes/bob/greetings/busy')).statusCode).toBe(204);
    expect((await call('GET', '/api/admin/mailboxes/bob/greetings')).json().greetings).toEqual([]);
    expect((await call('GET', '/api/admin/mailboxes/bob/greetings/busy/audio')).statusCode).toBe(
      404,
    );
    const reasons = (await call('GET', '/api/admin/audit?mailbox=bob&kind=mailbox-change'))
      .json()
      .records.map((r: { reason: string }) => r.reason);
    expect(reasons.slice(0, 2)).toEqual(['busy greeting removed', 'busy greeting recorded']);
  });

  it('unlocks another administrator and removes a lost second factor', async () => {
    const ann = await t.ctx.admins.add('ann', 'ann password 1', CLI_ACTOR);
    await t.ctx.store.setAdminTotp(ann.id, 'JBSWY3DPEHPK3PXPJBSWY3DP');
    expect((await call('DELETE', '/api/admin/admins/ann/totp')).statusCode).toBe(204);
    expect((await call('POST', '/api/admin/admins/ann/unlock')).statusCode).toBe(204);
    const admins = (await call('GET', '/api/admin/admins')).json().admins;
    expect(admins.find((a: { name: string }) => a.name === 'ann')).toMatchObject({ totp: false });
    expect((await call('DELETE', '/api/admin/admins/nobody/totp')).statusCode).toBe(404);
  });

  it('shows the flows file and checks it or a text, errors with their paths', async () => {
    const none = (await call('GET', '/api/admin/flows')).json();
    expect(none).toMatchObject({
      exists: false,
      inUse: false,
      loadedAt: null,
      check: { ok: true },
    });
    expect(none.file).toBe(join(t.ctx.dir, 'flows.yaml'));
    writeFileSync(
      none.file,
      "flows:\n  sales:\n    numbers: ['5000']\n    steps:\n      - leave-message: sales\n",
    );
    const good = (await call('GET', '/api/admin/flows')).json();
    expect(good.check.flows.find((f: { name: string }) => f.name === 'sales')).toEqual({
      name: 'sales',
      builtin: false,
      numbers: ['5000'],
      steps: 1,
    });
    const bad = (
      await call('POST', '/api/admin/flows/check', {
        text: "flows:\n  a:\n    numbers: ['800']\n    steps:\n      - dance: now\n",
      })
    ).json();
    expect(bad.ok).toBe(false);
    expect(bad.errors).toEqual(
      expect.arrayContaining([
        expect.stringContaining('flows.a.steps[0]: unknown action "dance"'),
        expect.stringContaining('flows.a.numbers[0]: 800 is an access number'),
      ]),
    );
    const file = (await call('POST', '/api/admin/flows/check', {})).json();
    expect(file.ok).toBe(true);
    const notText = await call('POST', '/api/admin/flows/check', { text: { flows: {} } });
    expect(notText.json()).toMatchObject({ field: 'text' });
  });

  it('shows the status with the store size, listeners, calls and Exchange', async () => {
    const status = (await call('GET', '/api/admin/status')).json();
    expect(status).toMatchObject({
      listeners: [],
      calls: null,
      imapSessions: null,
      pbx: null,
      exchange: [],
      topology: null,
    });
    expect(status.storeBytes).toBeGreaterThan(0);
  });

  it('filters the audit trail by time range', async () => {
    const all = (await call('GET', '/api/admin/audit?limit=1000')).json().records as {
      at: number;
    }[];
    const middle = all[Math.floor(all.length / 2)]!.at;
    const before = (await call('GET', `/api/admin/audit?until=${middle}&limit=1000`)).json()
      .records as { at: number }[];
    const after = (await call('GET', `/api/admin/audit?since=${middle}&limit=1000`)).json()
      .records as { at: number }[];
    expect(before.every((r) => r.at < middle)).toBe(true);
    expect(after.every((r) => r.at >= middle)).toBe(true);
    expect(before.length + after.length).toBe(all.length);
    expect((await call('GET', '/api/admin/audit?until=yesterday')).json()).toMatchObject({
      field: 'until',
    });
  });
});
