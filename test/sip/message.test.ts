import { describe, expect, it } from 'vitest';
import {
  ParseError,
  getHeader,
  getHeaders,
  makeResponse,
  newBranch,
  newTag,
  parseMessage,
  parseNameAddr,
  parseUri,
  parseVia,
  serialize,
  splitCommas,
  type SipRequest,
} from '../../server/sip/message.ts';

const crlf = (lines: string[]): string => lines.join('\r\n');

const INVITE = crlf([
  'INVITE sip:vm@127.0.0.1:5060 SIP/2.0',
  'v: SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKaaa;rport, SIP/2.0/TCP proxy.example:5060;branch=z9hG4bKbbb',
  'Via: SIP/2.0/UDP edge.example;branch=z9hG4bKccc',
  'f: "Smith, Alice" <sip:alice@example.com>;tag=1928',
  't: <sip:vm@example.com>',
  'i: a84b4c76e66710@pc33',
  'CSeq: 314159 INVITE',
  'm: "Desk, 2" <sip:alice@10.0.0.1:5070;transport=udp>, <sip:alice@10.0.0.2>',
  'Record-Route: <sip:p1.example;lr>,<sip:p2.example;lr>',
  'Subject: a long',
  '  folded subject',
  'c: application/sdp',
  'l: 5',
  '',
  'v=0\r\nextra-after-length',
]);

describe('parseMessage', () => {
  it('reads compact forms, repeated and comma-joined multi-value headers, folding and the body', () => {
    const msg = parseMessage(INVITE) as SipRequest;
    expect(msg.kind).toBe('request');
    expect(msg.method).toBe('INVITE');
    expect(msg.uri).toBe('sip:vm@127.0.0.1:5060');
    expect(getHeaders(msg, 'Via')).toHaveLength(3);
    expect(getHeaders(msg, 'via')[1]).toBe('SIP/2.0/TCP proxy.example:5060;branch=z9hG4bKbbb');
    expect(getHeader(msg, 'FROM')).toBe('"Smith, Alice" <sip:alice@example.com>;tag=1928');
    expect(getHeader(msg, 'call-id')).toBe('a84b4c76e66710@pc33');
    expect(getHeaders(msg, 'contact')).toEqual([
      '"Desk, 2" <sip:alice@10.0.0.1:5070;transport=udp>',
      '<sip:alice@10.0.0.2>',
    ]);
    expect(getHeaders(msg, 'record-route')).toEqual(['<sip:p1.example;lr>', '<sip:p2.example;lr>']);
    expect(getHeader(msg, 'subject')).toBe('a long folded subject');
    expect(getHeader(msg, 'content-type')).toBe('application/sdp');
    expect(msg.body).toBe('v=0\r\n');
  });

  it('reads a status line and an LF-only message', () => {
    const msg = parseMessage(
      [
        'SIP/2.0 180 Ringing',
        'Via: SIP/2.0/UDP h;branch=z9hG4bK1',
        'From: <sip:a@h>;tag=1',
        'To: <sip:b@h>;tag=2',
        'Call-ID: x',
        'CSeq: 1 INVITE',
        '',
        '',
      ].join('\n'),
    );
    expect(msg).toMatchObject({ kind: 'response', status: 180, reason: 'Ringing', body: '' });
  });

  it.each([
    ['garbage', 'hello world'],
    ['no headers', 'OPTIONS sip:a@b SIP/2.0\r\n\r\n'],
    [
      'missing Call-ID',
      crlf([
        'OPTIONS sip:a@b SIP/2.0',
        'Via: SIP/2.0/UDP h;branch=z9hG4bK1',
        'From: <sip:a@h>;tag=1',
        'To: <sip:b@h>',
        'CSeq: 1 OPTIONS',
        '',
        '',
      ]),
    ],
    ['bad header line', crlf(['OPTIONS sip:a@b SIP/2.0', 'Via SIP/2.0/UDP h', '', ''])],
    [
      'short body',
      crlf([
        'OPTIONS sip:a@b SIP/2.0',
        'Via: SIP/2.0/UDP h;branch=z9hG4bK1',
        'From: <sip:a@h>;tag=1',
        'To: <sip:b@h>',
        'Call-ID: x',
        'CSeq: 1 OPTIONS',
        'Content-Length: 50',
        '',
        'abc',
      ]),
    ],
    [
      'CSeq method mismatch',
      crlf([
        'OPTIONS sip:a@b SIP/2.0',
        'Via: SIP/2.0/UDP h;branch=z9hG4bK1',
        'From: <sip:a@h>;tag=1',
        'To: <sip:b@h>',
        'Call-ID: x',
        'CSeq: 1 INVITE',
        '',
        '',
      ]),
    ],
    [
      'too many headers',
      crlf([
        'OPTIONS sip:a@b SIP/2.0',
        ...Array.from({ length: 300 }, (_, i) => `X-${i}: y`),
        '',
        '',
      ]),
    ],
    ['too large', 'OPTIONS sip:a@b SIP/2.0\r\nX: ' + 'y'.repeat(70_000) + '\r\n\r\n'],
  ])('rejects %s with a ParseError', (_name, text) => {
    expect(() => parseMessage(text)).toThrow(ParseError);
  });

  it('serializes with the right Content-Length and parses back', () => {
    const msg = parseMessage(INVITE) as SipRequest;
    msg.body = 'v=0\r\nó\r\n';
    const again = parseMessage(serialize(msg)) as SipRequest;
    expect(getHeader(again, 'content-length')).toBe(String(Buffer.byteLength(msg.body)));
    expect(again.body).toBe(msg.body);
    expect(getHeaders(again, 'via')).toEqual(getHeaders(msg, 'via'));
    expect(serialize(msg).toString()).toContain(
      'Call-ID: a84b4c76e66710@pc33\r\nCSeq: 314159 INVITE',
    );
  });
});

describe('header helpers', () => {
  it('splits on commas outside quotes and angle brackets', () => {
    expect(splitCommas('"a, b" <sip:x;p=1,2>, <sip:y>')).toEqual([
      '"a, b" <sip:x;p=1,2>',
      '<sip:y>',
    ]);
  });

  it('parses name-addr, bare URIs and their params', () => {
    expect(parseNameAddr('"Alice" <sip:alice@h;lr>;tag=abc;expires=60')).toEqual({
      display: 'Alice',
      uri: 'sip:alice@h;lr',
      params: { tag: 'abc', expires: '60' },
    });
    expect(parseNameAddr('sip:bob@h;tag=9')).toEqual({ uri: 'sip:bob@h', params: { tag: '9' } });
  });

  it('parses URIs: user, host, port, transport, lr', () => {
    expect(parseUri('sip:vm@127.0.0.1:5070;transport=TCP;lr')).toEqual({
      scheme: 'sip',
      user: 'vm',
      host: '127.0.0.1',
      port: 5070,
      params: { transport: 'TCP', lr: null },
    });
    expect(parseUri('sips:[::1]').host).toBe('[::1]');
    expect(() => parseUri('mailto:x@y')).toThrow(ParseError);
  });

  it('parses Via: transport, sent-by, branch, rport', () => {
    expect(parseVia('SIP/2.0/udp 10.0.0.1:5070;branch=z9hG4bK1;rport')).toEqual({
      transport: 'UDP',
      host: '10.0.0.1',
      port: 5070,
      params: { branch: 'z9hG4bK1', rport: null },
    });
  });

  it('makes branches with the magic cookie and distinct tags', () => {
    expect(newBranch()).toMatch(/^z9hG4bK[0-9a-f]{20}$/);
    expect(newTag()).not.toBe(newTag());
  });

  it('makes a response copying Via, From, To, Call-ID and CSeq and adding a To tag', () => {
    const req = parseMessage(INVITE) as SipRequest;
    const res = makeResponse(req, 486, undefined, 'mytag');
    expect(res.reason).toBe('Busy Here');
    expect(getHeaders(res, 'via')).toEqual(getHeaders(req, 'via'));
    expect(getHeader(res, 'to')).toBe('<sip:vm@example.com>;tag=mytag');
    expect(getHeader(res, 'cseq')).toBe('314159 INVITE');
    expect(getHeader(res, 'contact')).toBeUndefined();
  });
});
