import { describe, expect, it } from 'vitest';
import { parseMessage, type SipRequest } from '../../server/sip/message.ts';
import { callInfo } from '../../server/telephony/caller-info.ts';

const source = { transport: 'udp' as const, address: '127.0.0.1', port: 5070 };

function invite(uri: string, headers: string[]): SipRequest {
  const text = [
    `INVITE ${uri} SIP/2.0`,
    'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1',
    'To: <sip:201@vm>',
    'Call-ID: abc@host',
    'CSeq: 1 INVITE',
    'Max-Forwards: 70',
    ...headers,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  return parseMessage(text) as SipRequest;
}

describe('the caller facts read from an INVITE', () => {
  it('takes the dialled number, the caller and the language', () => {
    const info = callInfo(
      invite('sip:201@127.0.0.1', [
        'From: "Bob Chen" <sip:202@pbx>;tag=1',
        'Accept-Language: fr-ca, en;q=0.5',
      ]),
      source,
    );
    expect(info).toMatchObject({
      callId: 'abc@host',
      dialled: '201',
      callerNumber: '202',
      callerName: 'Bob Chen',
      language: 'fr-CA',
      forwardedFrom: null,
      remote: '127.0.0.1:5070',
    });
  });

  it('prefers P-Asserted-Identity from a trusted peer, ignores it from anyone else, honours Privacy', () => {
    const request = invite('sip:201@vm', [
      'From: <sip:anything@pbx>;tag=1',
      'P-Asserted-Identity: "Reception" <sip:+33123456789@pbx>',
    ]);
    const asserted = callInfo(request, source, true);
    expect(asserted).toMatchObject({ callerNumber: '+33123456789', vouchedBy: 'peer' });
    const claimed = callInfo(request, source);
    expect(claimed.callerNumber).toBe('anything');
    expect(claimed.vouchedBy).toBeUndefined();
    // An anonymous From "asserting" the owner, from an untrusted address: withheld, nothing more.
    const forged = callInfo(
      invite('sip:201@vm', [
        'From: "Anonymous" <sip:anonymous@anonymous.invalid>;tag=1',
        'P-Asserted-Identity: <sip:201@vm>',
      ]),
      source,
    );
    expect(forged.callerNumber).toBeNull();
    const hidden = callInfo(
      invite('sip:201@vm', ['From: "Anonymous" <sip:anonymous@anonymous.invalid>;tag=1']),
      source,
    );
    expect(hidden.callerNumber).toBeNull();
    expect(hidden.callerName).toBeNull();
  });

  it('finds the mailbox of a forwarded call in Diversion or History-Info', () => {
    const diverted = callInfo(
      invite('sip:800@vm', [
        'From: <sip:555@pbx>;tag=1',
        'Diversion: <sip:203@pbx>;reason=no-answer, <sip:201@pbx>;reason=user-busy',
      ]),
      source,
    );
    expect(diverted).toMatchObject({ forwardedFrom: '201', forwardReason: 'user-busy' });
    const history = callInfo(
      invite('sip:800@vm', [
        'From: <sip:555@pbx>;tag=1',
        'History-Info: <sip:202@pbx>;index=1, <sip:800@vm?Reason=SIP%3Bcause%3D486>;index=1.1',
      ]),
      source,
    );
    expect(history).toMatchObject({ forwardedFrom: '202', forwardReason: 'user-busy' });
  });

  it('strips markup and control characters from caller text', () => {
    const info = callInfo(
      invite('sip:201@vm', ['From: "<script>x</script>" <sip:2%3Cb%3E02@pbx>;tag=1']),
      source,
    );
    expect(info.callerName).not.toMatch(/[<>]/);
    expect(info.callerNumber).toBe('2b02');
  });
});
