import { afterEach, describe, expect, it } from 'vitest';
import { SipError } from '../../server/sip/api.ts';
import { getHeader, getHeaders } from '../../server/sip/message.ts';
import { UserAgent } from '../../server/sip/user-agent.ts';
import type { TestServer } from '../helpers/test-server.ts';
import { phoneServer, SIP_PASSWORDS } from '../phone/phone-kit.ts';

const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';
const silentLog = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

const open: { close(): unknown }[] = [];
let server: TestServer | undefined;
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
  await server?.stop();
  server = undefined;
});

/** A phone on 127.0.0.1 (no trusted peer here): our own user agent, over real UDP. */
async function phone(): Promise<UserAgent> {
  const ua = await UserAgent.start({
    host: '127.0.0.1',
    port: 0,
    tcp: false,
    userAgent: 'vg-test-phone',
    log: silentLog,
    timers: { t1: 100, t2: 400, t4: 500 },
  });
  open.push(ua);
  return ua;
}

describe('phones authenticate with SIP digest', { timeout: 30_000 }, () => {
  const at = () => `127.0.0.1:${server!.ports.sip}`;
  const register = (
    ua: UserAgent,
    ext: string,
    credentials?: { username: string; password: string },
  ) =>
    ua.request({
      method: 'REGISTER',
      uri: `sip:${at()}`,
      from: `<sip:${ext}@${at()}>`,
      to: `<sip:${ext}@${at()}>`,
      headers: { Contact: `<sip:${ext}@127.0.0.1:${ua.port}>`, Expires: '60' },
      credentials,
    });
  const subscribe = (
    ua: UserAgent,
    ext: string,
    credentials?: { username: string; password: string },
  ) =>
    ua.request({
      method: 'SUBSCRIBE',
      uri: `sip:${ext}@${at()}`,
      from: `<sip:${ext}@${at()}>`,
      to: `<sip:${ext}@${at()}>`,
      headers: {
        Contact: `<sip:${ext}@127.0.0.1:${ua.port}>`,
        Event: 'message-summary',
        Accept: 'application/simple-message-summary',
        Expires: '0',
      },
      credentials,
    });

  for (const algorithms of ['[SHA-256,MD5]', '[MD5]'])
    it(`REGISTER and SUBSCRIBE: 401 without credentials, 403 with wrong ones, 200 with the right ones (${algorithms})`, async () => {
      server = await phoneServer([`sip.digestAlgorithms=${algorithms}`]);
      const ua = await phone();
      const alice = { username: '201', password: SIP_PASSWORDS.alice };

      const bare = await register(ua, '201');
      expect(bare.status).toBe(401);
      const offered = getHeaders(bare, 'www-authenticate');
      expect(offered.map((h) => /algorithm=([\w-]+)/.exec(h)![1])).toEqual(
        algorithms === '[MD5]' ? ['MD5'] : ['SHA-256', 'MD5'],
      );
      for (const h of offered) expect(h).toContain('qop="auth"');

      expect((await register(ua, '201', { ...alice, password: 'not-the-password' })).status).toBe(
        403,
      );
      // Alice's phone may not bind bob's extension, even with her own right credentials.
      expect((await register(ua, '202', alice)).status).toBe(403);
      const ok = await register(ua, '201', alice);
      expect(ok.status).toBe(200);
      expect(getHeader(ok, 'contact')).toContain(`127.0.0.1:${ua.port}`);

      expect((await subscribe(ua, '201')).status).toBe(401);
      expect((await subscribe(ua, '201', { ...alice, password: 'not-the-password' })).status).toBe(
        403,
      );
      expect((await subscribe(ua, '202', alice)).status).toBe(403);
      expect((await subscribe(ua, '201', alice)).status).toBe(200);
    });

  it('a mailbox without SIP credentials cannot register', async () => {
    server = await phoneServer();
    const config = server.context.loaded.config;
    await server.context.mailboxes.setSipPassword('bob', null, config.server.domain);
    const ua = await phone();
    expect(
      (await register(ua, '202', { username: '202', password: SIP_PASSWORDS.bob })).status,
    ).toBe(403);
  });

  it("an INVITE claiming the owner's extension from an untrusted address is challenged", async () => {
    server = await phoneServer();
    const ua = await phone();
    const call = ua.invite({ uri: `sip:201@${at()}`, from: `<sip:201@${at()}>`, sdp: SDP });
    const err = (await call.done.catch((e: unknown) => e)) as SipError;
    expect(err).toBeInstanceOf(SipError);
    expect(err.status).toBe(401);
    expect(getHeader(err.response!, 'www-authenticate')).toMatch(/^Digest realm=/);
    // Someone else's password for it: refused outright.
    const wrong = ua.invite({
      uri: `sip:201@${at()}`,
      from: `<sip:201@${at()}>`,
      sdp: SDP,
      credentials: { username: '201', password: SIP_PASSWORDS.bob },
    });
    expect(((await wrong.done.catch((e: unknown) => e)) as SipError).status).toBe(403);
  });

  it('a trusted PBX is believed by address: it registers without digest', async () => {
    server = await phoneServer(['sip.trustedPeers=[127.0.0.1/32]']);
    const ua = await phone();
    expect((await register(ua, '201')).status).toBe(200);
  });
});
