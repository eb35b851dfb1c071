import sdpTransform from 'sdp-transform';
import { describe, expect, it } from 'vitest';
import { NoCommonCodec, isRtpError } from '../../server/rtp/errors.ts';
import { answerOffer, isOnHold, makeOffer, readAnswer } from '../../server/rtp/sdp.ts';

const crlf = (lines: string[]): string => lines.join('\r\n') + '\r\n';
const local = { address: '192.0.2.10', port: 40000, sessionId: '777' };

// What baresip 1.0.0 sends with opus enabled next to G.711.
const BARESIP = crlf([
  'v=0',
  'o=- 1718379582 3046297232 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 10004 RTP/AVP 96 0 8 101',
  'b=AS:128',
  'a=rtpmap:96 opus/48000/2',
  'a=fmtp:96 stereo=1;sprop-stereo=1',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendrecv',
  'a=label:1',
  'a=rtcp-rsize',
  'a=ssrc:3391457417 cname:c0ae6b6e-55bd-4bd2-9c03-b0dbd4a76ebf',
  'a=ptime:20',
]);

// linphonec 5.1 over IPv6: telephone-event at 48 kHz (101) and at 8 kHz (99).
const LINPHONE = crlf([
  'v=0',
  'o=alice 3090 1734 IN IP6 ::1',
  's=Talk',
  'c=IN IP6 ::1',
  't=0 0',
  'a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics',
  'm=audio 7078 RTP/AVP 96 8 0 101 99',
  'a=rtpmap:96 opus/48000/2',
  'a=fmtp:96 useinbandfec=1',
  'a=rtpmap:101 telephone-event/48000',
  'a=rtpmap:99 telephone-event/8000',
  'a=rtcp-fb:* trr-int 1000',
  'a=rtcp-fb:* ccm tmmbr',
]);

// SIPp's uac_pcap scenario: A-law first, no rtpmap for the static types.
const SIPP = crlf([
  'v=0',
  'o=user1 53655765 2353687637 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 6000 RTP/AVP 8 0 101',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-11,16',
]);

describe('answerOffer', () => {
  it('answers baresip with PCMU, its first G.711, and mirrors telephone-event 101', () => {
    const r = answerOffer(BARESIP, local);
    expect(r).toMatchObject({
      codec: 'PCMU',
      payloadType: 0,
      dtmfPayloadType: 101,
      remote: { address: '127.0.0.1', port: 10004 },
      ptimeMs: 20,
      direction: 'sendrecv',
    });
    const a = sdpTransform.parse(r.answer);
    expect(a.connection?.ip).toBe('192.0.2.10');
    expect(a.origin?.sessionId).toBe(777);
    const m = a.media[0]!;
    expect(m.port).toBe(40000);
    expect(m.payloads).toBe('0 101');
    expect(m.fmtp).toEqual([{ payload: 101, config: '0-16' }]);
    expect(m.direction).toBe('sendrecv');
    expect(r.answer).not.toMatch(/opus/);
  });

  it('answers linphone over IPv6 with PCMA and its 8 kHz telephone-event 99', () => {
    const r = answerOffer(LINPHONE, local);
    expect(r).toMatchObject({
      codec: 'PCMA',
      payloadType: 8,
      dtmfPayloadType: 99,
      remote: { address: '::1', port: 7078 },
    });
    expect(r.answer).toContain('m=audio 40000 RTP/AVP 8 99\r\n');
    expect(r.answer).toContain('a=rtpmap:99 telephone-event/8000\r\n');
    expect(r.answer).toContain('a=fmtp:99 0-16\r\n');
    expect(r.answer).toContain('c=IN IP4 192.0.2.10\r\n');
  });

  it("answers SIPp's 8 0 101 with PCMA (static types need no rtpmap)", () => {
    const r = answerOffer(SIPP, local);
    expect(r).toMatchObject({ codec: 'PCMA', payloadType: 8, dtmfPayloadType: 101 });
    expect(readAnswer(r.answer)).toMatchObject({
      codec: 'PCMA',
      payloadType: 8,
      dtmfPayloadType: 101,
      remote: { address: '192.0.2.10', port: 40000 },
    });
  });

  it('echoes an offered ptime and declines other streams with port 0', () => {
    const offer = SIPP.replace(
      'a=fmtp:101 0-11,16\r\n',
      'a=ptime:30\r\nm=video 6002 RTP/AVP 97\r\na=rtpmap:97 H264/90000\r\n',
    );
    const r = answerOffer(offer, local);
    expect(r.ptimeMs).toBe(30);
    expect(r.answer).toContain('a=ptime:30\r\n');
    expect(r.answer).toContain('m=video 0 RTP/AVP 97\r\n');
  });

  it('has no DTMF payload type when the offer has no telephone-event', () => {
    const offer = SIPP.replace('8 0 101', '0').replace(/a=.*\r\n/g, '');
    const r = answerOffer(offer, local);
    expect(r.dtmfPayloadType).toBeNull();
    expect(r.answer).not.toContain('telephone-event');
  });

  it('throws NoCommonCodec (488) when no G.711 is offered', () => {
    const offer = BARESIP.replace('96 0 8 101', '96 101');
    expect(() => answerOffer(offer, local)).toThrow(NoCommonCodec);
    try {
      answerOffer(offer, local);
    } catch (err) {
      expect(isRtpError(err, 'NO_COMMON_CODEC')).toBe(true);
      expect((err as Error).message).toMatch(/PCMU or PCMA/);
    }
    // SRTP-only offers are not usable either.
    expect(() => answerOffer(SIPP.replace('RTP/AVP', 'RTP/SAVP'), local)).toThrow(NoCommonCodec);
  });

  it('rejects malformed SDP with a clear BAD_SDP error', () => {
    const bad = (text: string) => {
      try {
        answerOffer(text, local);
      } catch (err) {
        expect(isRtpError(err, 'BAD_SDP')).toBe(true);
        return (err as Error).message;
      }
      throw new Error('accepted malformed SDP');
    };
    expect(bad('hello')).toMatch(/not SDP/);
    expect(bad('')).toMatch(/not SDP/);
    expect(bad(crlf(['v=0', 'o=- 1 1 IN IP4 1.2.3.4', 's=-', 't=0 0']))).toMatch(/no m= line/);
    expect(bad(SIPP.replace('c=IN IP4 127.0.0.1\r\n', ''))).toMatch(/no c= line/);
  });

  describe('hold in a re-offer', () => {
    it('answers a=sendonly with recvonly and reports it', () => {
      const r = answerOffer(BARESIP.replace('a=sendrecv', 'a=sendonly'), { ...local, version: 1 });
      expect(r.direction).toBe('recvonly');
      expect(isOnHold(r)).toBe(true);
      expect(r.answer).toContain('a=recvonly\r\n');
      expect(r.answer).toContain('o=voicegate 777 1 IN IP4');
    });

    it('answers a=inactive (session level too) with inactive', () => {
      const offer = SIPP.replace('t=0 0\r\n', 't=0 0\r\na=inactive\r\n');
      const r = answerOffer(offer, local);
      expect(r.direction).toBe('inactive');
      expect(r.answer).toContain('a=inactive\r\n');
    });

    it('treats c=0.0.0.0 (RFC 2543 hold) as hold', () => {
      const r = answerOffer(SIPP.replace('c=IN IP4 127.0.0.1', 'c=IN IP4 0.0.0.0'), local);
      expect(r.direction).toBe('recvonly');
      expect(isOnHold(r)).toBe(true);
    });

    it('resumes with sendrecv', () => {
      expect(answerOffer(BARESIP, local).direction).toBe('sendrecv');
      expect(isOnHold(answerOffer(BARESIP, local))).toBe(false);
    });
  });
});

describe('makeOffer / readAnswer', () => {
  it('offers PCMU 0, PCMA 8 and telephone-event 101 at 20 ms', () => {
    const offer = makeOffer({ address: '127.0.0.1', port: 30000, sessionId: '5' });
    const m = sdpTransform.parse(offer).media[0]!;
    expect(m.payloads).toBe('0 8 101');
    expect(m.rtp.map((r) => `${r.payload} ${r.codec}/${r.rate}`)).toEqual([
      '0 PCMU/8000',
      '8 PCMA/8000',
      '101 telephone-event/8000',
    ]);
    expect(m.fmtp).toEqual([{ payload: 101, config: '0-16' }]);
    expect(m.ptime).toBe(20);
    // Round trip: a peer answering our offer picks PCMU.
    const r = answerOffer(offer, local);
    expect(r).toMatchObject({ codec: 'PCMU', dtmfPayloadType: 101 });
  });

  it('reads a peer answer, its direction seen from our side, and refuses a declined stream', () => {
    const answer = crlf([
      'v=0',
      'o=bob 1 1 IN IP4 10.1.1.1',
      's=-',
      'c=IN IP4 10.1.1.1',
      't=0 0',
      'm=audio 5004 RTP/AVP 8 101',
      'a=rtpmap:8 PCMA/8000',
      'a=rtpmap:101 telephone-event/8000',
      'a=recvonly',
    ]);
    expect(readAnswer(answer)).toEqual({
      codec: 'PCMA',
      payloadType: 8,
      dtmfPayloadType: 101,
      remote: { address: '10.1.1.1', port: 5004 },
      ptimeMs: 20,
      direction: 'sendonly',
    });
    expect(() => readAnswer(answer.replace('m=audio 5004', 'm=audio 0'))).toThrow(NoCommonCodec);
  });
});
