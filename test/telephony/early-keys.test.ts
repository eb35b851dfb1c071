// A phone may send keys (RFC 4733) as soon as it has the 200 OK, before its ACK reaches the
// server and before the call's flow listens: those keys are held and acted on, not lost.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { linearToUlaw } from '../../server/media/g711.ts';
import { buildTelephoneEvent, DTMF_KEYS } from '../../server/rtp/dtmf.ts';
import { buildRtp } from '../../server/rtp/rtp-packet.ts';
import { getHeader, type SipMessage, type SipResponse } from '../../server/sip/message.ts';
import type { TestServer } from '../helpers/test-server.ts';
import { phoneServer, wavFile } from '../phone/phone-kit.ts';
import { listed } from '../phone/sipp-kit.ts';
import { type Peer, sine, udpPeer } from '../rtp/fixtures.ts';
import { RawPeer } from '../sip/raw-peer.ts';

let server: TestServer;
let sip: RawPeer;
let rtp: Peer;

beforeEach(async () => {
  server = await phoneServer();
  // A greeting far longer than what the caller says, so only a skipped one lets a message in.
  await server.context.messages.setGreeting(
    'alice',
    'unavailable',
    wavFile(server.dir, 'long-greeting', 440, 12),
  );
  sip = await RawPeer.start();
  rtp = await udpPeer();
});
afterEach(async () => {
  sip?.close();
  await rtp?.close();
  await server?.stop();
});

const CALL_ID = 'early-keys-1';

function request(
  method: string,
  uri: string,
  cseq: number,
  o: { to?: string; body?: string } = {},
): string {
  const body = o.body ?? '';
  return [
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${sip.port};branch=z9hG4bK${Math.random().toString(36).slice(2)};rport`,
    'Max-Forwards: 70',
    'From: <sip:5550177@127.0.0.1>;tag=early1',
    `To: ${o.to ?? '<sip:201@127.0.0.1>'}`,
    `Call-ID: ${CALL_ID}`,
    `CSeq: ${cseq} ${method}`,
    `Contact: <sip:5550177@127.0.0.1:${sip.port}>`,
    ...(body ? ['Content-Type: application/sdp'] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

const oks = (got: SipMessage[], cseq: string): SipResponse[] =>
  got.filter(
    (m): m is SipResponse =>
      m.kind === 'response' && m.status === 200 && getHeader(m, 'cseq') === cseq,
  );

/** Sends `samples` as paced 20 ms µ-law packets to `port`, from sequence number `seq`. */
async function talk(port: number, samples: Int16Array, seq: number): Promise<void> {
  for (let i = 0; i < samples.length; i += 160, seq++) {
    const payload = new Uint8Array(160);
    for (let j = 0; j < 160; j++) payload[j] = linearToUlaw(samples[i + j] ?? 0);
    await rtp.send(
      buildRtp({
        marker: i === 0,
        payloadType: 0,
        sequence: seq,
        timestamp: seq * 160,
        ssrc: 9,
        payload,
      }),
      port,
    );
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('keys typed before the ACK', { timeout: 40_000 }, () => {
  it('# typed before the ACK skips the greeting: what the caller says next is the message', async () => {
    const sdp = [
      'v=0',
      'o=- 1 1 IN IP4 127.0.0.1',
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${rtp.port} RTP/AVP 0 101`,
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:101 telephone-event/8000',
      'a=fmtp:101 0-15',
      'a=sendrecv',
      '',
    ].join('\r\n');
    const target = `sip:201@127.0.0.1:${server.ports.sip}`;
    sip.send(request('INVITE', target, 1, { body: sdp }), server.ports.sip);
    const [ok] = oks(await sip.until((g) => oks(g, '1 INVITE').length >= 1, 15_000), '1 INVITE');
    const to = getHeader(ok!, 'to')!;
    const media = Number(/^m=audio (\d+)/m.exec(ok!.body)?.[1]);
    expect(media).toBeGreaterThan(0);

    // '#' as one RFC 4733 event (its start and its three end packets), no ACK yet.
    const event = (end: boolean, seq: number) =>
      buildRtp({
        marker: !end,
        payloadType: 101,
        sequence: seq,
        timestamp: 8000,
        ssrc: 9,
        payload: buildTelephoneEvent({
          event: DTMF_KEYS.indexOf('#'),
          end,
          volume: 10,
          duration: end ? 800 : 160,
        }),
      });
    for (const [end, seq] of [
      [false, 1],
      [true, 2],
      [true, 3],
      [true, 4],
    ] as const)
      await rtp.send(event(end, seq), media);
    // The server resends its 200 OK for want of an ACK: the key has long reached it.
    await sip.until((g) => oks(g, '1 INVITE').length >= 2, 15_000);
    sip.send(request('ACK', target, 1, { to }), server.ports.sip);

    // The tone, then 2.5 s of the caller's voice, then the caller hangs up.
    await talk(media, sine(600, 2500), 5);
    sip.send(request('BYE', target, 2, { to }), server.ports.sip);
    // The 200 to the BYE comes once what the call recorded is durable.
    await sip.until((g) => oks(g, '2 BYE').length >= 1, 15_000);
    const messages = await listed(server, '201');
    expect(messages).toHaveLength(1);
    expect(messages[0]!.audio.durationMs).toBeGreaterThan(1000);
    expect(messages[0]!.audio.durationMs).toBeLessThan(3000);
  });
});
