import { describe, expect, it } from 'vitest';
import { DialogState } from '../../server/sip/dialog.ts';
import {
  getHeader,
  getHeaders,
  makeResponse,
  parseMessage,
  setHeader,
  type SipRequest,
} from '../../server/sip/message.ts';

const invite = (): SipRequest =>
  parseMessage(
    [
      'INVITE sip:vm@127.0.0.1 SIP/2.0',
      'Via: SIP/2.0/UDP p2.example;branch=z9hG4bK2',
      'Via: SIP/2.0/UDP p1.example;branch=z9hG4bK1',
      'Record-Route: <sip:p2.example;lr>',
      'Record-Route: <sip:p1.example;lr>',
      'From: "Alice" <sip:alice@example.com>;tag=a1',
      'To: <sip:vm@example.com>',
      'Call-ID: call-1',
      'CSeq: 10 INVITE',
      'Contact: <sip:alice@10.0.0.1:5070>',
      '',
      '',
    ].join('\r\n'),
  ) as SipRequest;

describe('DialogState', () => {
  it('as UAS keeps Record-Route in order and routes loosely to the Contact', () => {
    const d = DialogState.fromUas(invite(), 'v1');
    expect(d.routeSet).toEqual(['<sip:p2.example;lr>', '<sip:p1.example;lr>']);
    expect(d.remoteUri).toBe('sip:alice@example.com');
    const bye = d.createRequest('BYE');
    expect(bye.uri).toBe('sip:alice@10.0.0.1:5070');
    expect(getHeaders(bye, 'route')).toEqual(['<sip:p2.example;lr>', '<sip:p1.example;lr>']);
    expect(getHeader(bye, 'from')).toBe('<sip:vm@example.com>;tag=v1');
    expect(getHeader(bye, 'to')).toBe('"Alice" <sip:alice@example.com>;tag=a1');
    expect(d.nextHop).toBe('sip:p2.example;lr');
    expect(d.key).toBe('call-1|v1|a1');
  });

  it('as UAC reverses the route set from the 2xx and counts CSeq from the INVITE', () => {
    const req = invite();
    const res = makeResponse(req, 200, undefined, 'b2');
    setHeader(res, 'contact', '<sip:bob@10.0.0.9>');
    setHeader(res, 'record-route', getHeaders(req, 'record-route'));
    const d = DialogState.fromUac(req, res);
    expect(d.routeSet).toEqual(['<sip:p1.example;lr>', '<sip:p2.example;lr>']);
    const ack = d.createRequest('ACK', { seq: 10 });
    expect(getHeader(ack, 'cseq')).toBe('10 ACK');
    expect(getHeader(d.createRequest('BYE'), 'cseq')).toBe('11 BYE');
    expect(ack.uri).toBe('sip:bob@10.0.0.9');
  });

  it('with a strict first route puts it in the Request-URI and the target last', () => {
    const req = invite();
    setHeader(req, 'record-route', ['<sip:strict.example>', '<sip:p1.example;lr>']);
    const bye = DialogState.fromUas(req, 'v1').createRequest('BYE');
    expect(bye.uri).toBe('sip:strict.example');
    expect(getHeaders(bye, 'route')).toEqual(['<sip:p1.example;lr>', '<sip:alice@10.0.0.1:5070>']);
  });

  it('rejects an out-of-order remote CSeq but lets ACK and CANCEL through', () => {
    const d = DialogState.fromUas(invite(), 'v1');
    const req = (cseq: string): SipRequest => {
      const r = invite();
      setHeader(r, 'cseq', cseq);
      return r;
    };
    expect(d.acceptRemoteSeq(req('10 ACK'))).toBe(true);
    expect(d.acceptRemoteSeq(req('11 INFO'))).toBe(true);
    expect(d.acceptRemoteSeq(req('11 BYE'))).toBe(false);
    expect(d.acceptRemoteSeq(req('9 BYE'))).toBe(false);
    expect(d.acceptRemoteSeq(req('12 BYE'))).toBe(true);
  });
});
