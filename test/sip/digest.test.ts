import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { authorize, digestResponse, parseChallenge } from '../../server/sip/digest.ts';
import {
  makeResponse,
  parseMessage,
  setHeader,
  type SipRequest,
} from '../../server/sip/message.ts';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

describe('digest', () => {
  it("matches RFC 2617's worked example (qop=auth)", () => {
    expect(
      digestResponse({
        username: 'Mufasa',
        password: 'Circle Of Life',
        realm: 'testrealm@host.com',
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        method: 'GET',
        uri: '/dir/index.html',
        qop: 'auth',
        nc: '00000001',
        cnonce: '0a4f113b',
      }),
    ).toBe('6629fae49393a05397450978507c4ef1');
  });

  it('parses a challenge with quoted commas and several qop values', () => {
    expect(
      parseChallenge(
        'Digest realm="a, b", nonce="n1", opaque="o", qop="auth,auth-int", algorithm=MD5, stale=TRUE',
      ),
    ).toEqual({
      scheme: 'Digest',
      realm: 'a, b',
      nonce: 'n1',
      opaque: 'o',
      qop: ['auth', 'auth-int'],
      algorithm: 'MD5',
      stale: true,
    });
  });

  const register = parseMessage(
    [
      'REGISTER sip:pbx.example SIP/2.0',
      'Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1',
      'From: <sip:vm@pbx.example>;tag=1',
      'To: <sip:vm@pbx.example>',
      'Call-ID: c',
      'CSeq: 1 REGISTER',
      '',
      '',
    ].join('\r\n'),
  ) as SipRequest;

  it('answers a hand-made 401 without qop', () => {
    const res = makeResponse(register, 401);
    setHeader(res, 'www-authenticate', 'Digest realm="pbx", nonce="abc123", opaque="zz"');
    const auth = authorize(res, register, { username: 'vm', password: 's3cret' });
    const expected = md5(`${md5('vm:pbx:s3cret')}:abc123:${md5('REGISTER:sip:pbx.example')}`);
    expect(auth?.name).toBe('authorization');
    expect(auth?.value).toBe(
      `Digest username="vm", realm="pbx", nonce="abc123", uri="sip:pbx.example", response="${expected}", algorithm=MD5, opaque="zz"`,
    );
  });

  it('answers a 407 with qop=auth, nc and cnonce in Proxy-Authorization', () => {
    const res = makeResponse(register, 407);
    setHeader(res, 'proxy-authenticate', 'Digest realm="pbx", nonce="n", qop="auth"');
    const auth = authorize(
      res,
      { method: 'INVITE', uri: 'sip:bob@pbx' },
      { username: 'u', password: 'p' },
      'cn',
    );
    const expected = md5(`${md5('u:pbx:p')}:n:00000001:cn:auth:${md5('INVITE:sip:bob@pbx')}`);
    expect(auth?.name).toBe('proxy-authorization');
    expect(auth?.value).toContain(`response="${expected}"`);
    expect(auth?.value).toContain('qop=auth, nc=00000001, cnonce="cn"');
  });

  it('declines challenges it cannot answer', () => {
    const res = makeResponse(register, 401);
    setHeader(res, 'www-authenticate', 'Digest realm="pbx", nonce="n", algorithm=SHA-512-256');
    expect(authorize(res, register, { username: 'u', password: 'p' })).toBeNull();
  });
});
