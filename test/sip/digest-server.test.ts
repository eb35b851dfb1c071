import { describe, expect, it } from 'vitest';
import {
  authorize,
  digestResponse,
  DigestServer,
  ha1,
  type Ha1Set,
} from '../../server/sip/digest.ts';
import { addHeader, createRequest, makeResponse } from '../../server/sip/message.ts';

// RFC 7616 3.9.1: the same exchange with MD5 and with SHA-256 (RFC 8760 brings both to SIP).
const rfc7616 = {
  username: 'Mufasa',
  password: 'Circle of Life',
  realm: 'http-auth@example.org',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  method: 'GET',
  uri: '/dir/index.html',
  qop: 'auth' as const,
  nc: '00000001',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
};

describe('digest: RFC 7616 example', () => {
  it('computes the MD5 and SHA-256 responses of the RFC', () => {
    expect(digestResponse({ ...rfc7616, algorithm: 'MD5' })).toBe(
      '8ca523f5e9506fed4657c9700eebdbec',
    );
    expect(digestResponse({ ...rfc7616, algorithm: 'SHA-256' })).toBe(
      '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
    );
  });
});

describe('digest server', () => {
  const realm = 'voicegate.test';
  const password = 'correct horse battery';
  const stored: Ha1Set = {
    MD5: ha1('MD5', '201', realm, password),
    'SHA-256': ha1('SHA-256', '201', realm, password),
  };
  const lookup = async (user: string): Promise<Ha1Set | null> => (user === '201' ? stored : null);
  const register = () => createRequest('REGISTER', 'sip:voicegate.test');

  /** The client's answer to the server's 401, keeping only the challenges `keep` names. */
  function answer(
    server: DigestServer,
    creds = { username: '201', password },
    keep: (h: string) => boolean = () => true,
  ) {
    const req = register();
    const res = makeResponse(req, 401);
    for (const h of server.challenge().filter(keep)) addHeader(res, 'www-authenticate', h);
    const auth = authorize(res, req, creds)!;
    return { method: req.method, uri: req.uri, authorization: [auth.value], header: auth.value };
  }

  it('offers SHA-256 first, then MD5, with qop=auth and one nonce; or MD5 alone', () => {
    const [sha, md5] = new DigestServer({ realm }).challenge();
    expect(new DigestServer({ realm, algorithms: ['MD5'] }).challenge()).toHaveLength(1);
    expect(sha).toMatch(
      /^Digest realm="voicegate.test", nonce="[^"]+", algorithm=SHA-256, qop="auth"$/,
    );
    expect(md5).toContain('algorithm=MD5');
    expect(/nonce="([^"]+)"/.exec(sha!)![1]).toBe(/nonce="([^"]+)"/.exec(md5!)![1]);
  });

  it('accepts the right password with SHA-256 and with MD5', async () => {
    const server = new DigestServer({ realm });
    const sha = answer(server);
    expect(sha.header).toContain('algorithm=SHA-256');
    await expect(server.verify(sha, lookup)).resolves.toEqual({
      ok: true,
      username: '201',
      algorithm: 'SHA-256',
    });
    const md5 = answer(server, undefined, (h) => h.includes('MD5'));
    expect(md5.header).toContain('algorithm=MD5');
    await expect(server.verify(md5, lookup)).resolves.toMatchObject({ ok: true, algorithm: 'MD5' });
  });

  it('refuses a wrong password, an unknown user, no answer at all', async () => {
    const server = new DigestServer({ realm });
    await expect(
      server.verify(answer(server, { username: '201', password: 'guess' }), lookup),
    ).resolves.toEqual({ ok: false, reason: 'mismatch' });
    await expect(
      server.verify(answer(server, { username: '202', password }), lookup),
    ).resolves.toEqual({ ok: false, reason: 'unknown-user' });
    await expect(
      server.verify({ method: 'REGISTER', uri: 'sip:x', authorization: [] }, lookup),
    ).resolves.toEqual({ ok: false, reason: 'missing' });
  });

  it('refuses a replayed answer, an answer for another request, a nonce it never made', async () => {
    const server = new DigestServer({ realm });
    const once = answer(server);
    expect((await server.verify(once, lookup)).ok).toBe(true);
    await expect(server.verify(once, lookup)).resolves.toEqual({ ok: false, reason: 'stale' });
    await expect(
      server.verify({ ...answer(server), uri: 'sip:elsewhere.test' }, lookup),
    ).resolves.toMatchObject({ ok: false, reason: 'malformed' });
    const other = new DigestServer({ realm });
    await expect(server.verify(answer(other), lookup)).resolves.toMatchObject({
      ok: false,
      reason: 'malformed',
    });
  });

  it('calls a nonce older than five minutes stale, so the phone retries with a new one', async () => {
    let now = Date.now();
    const server = new DigestServer({ realm, now: () => now });
    const old = answer(server);
    now += 301_000;
    await expect(server.verify(old, lookup)).resolves.toEqual({ ok: false, reason: 'stale' });
    expect(server.challenge(true)[0]).toContain('stale=true');
  });
});
