// The UserAgent against SIPp, a real SIP peer, on 127.0.0.1. SIPp exits 0 only when every
// step of the scenario (including its ereg and verifyauth checks) passed.
import { afterEach, describe, expect, it } from 'vitest';
import { UserAgent, type Dialog, type IncomingInvite } from '../../server/sip/user-agent.ts';
import { silentLog } from '../../server/sip/log.ts';
import type { SipResponse } from '../../server/sip/message.ts';
import { startSipp, type SippPeer } from './sipp-peer.ts';

const SDP = [
  'v=0',
  'o=voicegate 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 40000 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  '',
].join('\r\n');

let ua: UserAgent | null = null;
let peer: SippPeer | null = null;

afterEach(async () => {
  peer?.kill();
  peer = null;
  await ua?.close();
  ua = null;
});

async function startUa(tcp = false): Promise<UserAgent> {
  ua = await UserAgent.start({
    host: '127.0.0.1',
    port: 0,
    tcp,
    userAgent: 'voicegate-test',
    log: silentLog,
    timers: { t1: 100, t2: 400, t4: 500 },
  });
  return ua;
}

async function expectPass(p: SippPeer): Promise<void> {
  const { code, log } = await p.done;
  expect(code, log).toBe(0);
}

/** Answers every INVITE with SDP; re-INVITEs that hold get a recvonly answer. */
function answering(u: UserAgent): { dialogs: Promise<Dialog>; ends: Promise<string> } {
  let ended: (r: string) => void = () => undefined;
  const ends = new Promise<string>((r) => (ended = r));
  const dialogs = new Promise<Dialog>((resolve, reject) => {
    u.onInvite = (invite: IncomingInvite) => {
      invite.progress(180);
      invite.accept(SDP).then((d) => {
        d.onReinvite((_req, offer) =>
          offer.includes('a=sendonly') ? `${SDP}a=recvonly\r\n` : SDP,
        );
        d.onEnd(ended);
        resolve(d);
      }, reject);
    };
  });
  return { dialogs, ends };
}

describe('UserAgent with SIPp', () => {
  it('takes a call: INVITE, 200 with our SDP, ACK, a hold re-INVITE, BYE from the caller (UDP)', async () => {
    const u = await startUa();
    const { dialogs, ends } = answering(u);
    peer = await startSipp('uac-call.xml', `127.0.0.1:${u.port}`);
    await expectPass(peer);
    const dialog = await dialogs;
    expect(await ends).toBe('remote bye');
    expect(dialog.ended).toBe(true);
    expect(dialog.remoteUri).toMatch(/^sip:sipp@127\.0\.0\.1:\d+$/);
  });

  it('takes the same call over TCP (-t t1), answering on the connection it came on', async () => {
    const u = await startUa(true);
    expect(u.tcpPort).toBe(u.port);
    const { ends } = answering(u);
    peer = await startSipp('uac-call.xml', `127.0.0.1:${u.port}`, { tcp: true });
    await expectPass(peer);
    expect(await ends).toBe('remote bye');
  });

  it('CANCEL before the answer: 200 to the CANCEL, 487 to the INVITE, onCancel fires', async () => {
    const u = await startUa();
    const seen = new Promise<IncomingInvite>((resolve) => {
      u.onInvite = (invite) => {
        invite.progress();
        invite.onCancel(() => resolve(invite));
      };
    });
    peer = await startSipp('uac-cancel.xml', `127.0.0.1:${u.port}`);
    await expectPass(peer);
    const invite = await seen;
    expect(invite.cancelled).toBe(true);
    await expect(invite.accept(SDP)).rejects.toMatchObject({ status: 487 });
  });

  it('answers OPTIONS with Allow, Accept and the rport it was sent from', async () => {
    const u = await startUa();
    peer = await startSipp('uac-options.xml', `127.0.0.1:${u.port}`);
    await expectPass(peer);
  });

  it('retransmits the 200 until a late ACK comes, then hangs up with BYE', async () => {
    const u = await startUa();
    let oks = 0;
    const send = u.transport.sendResponse.bind(u.transport);
    u.transport.sendResponse = (res, source) => {
      if (res.status === 200) oks++;
      send(res, source);
    };
    const started = Date.now();
    const accepted = new Promise<Dialog>((resolve, reject) => {
      u.onInvite = (invite) => void invite.accept(SDP).then(resolve, reject);
    });
    peer = await startSipp('uac-late-ack.xml', `127.0.0.1:${u.port}`);
    const dialog = await accepted;
    // SIPp waited 1.2 s: with T1 = 100 ms the 200 went out at 0, 0.1, 0.3, 0.7 s at least.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(oks).toBeGreaterThanOrEqual(4);
    await dialog.bye();
    expect(dialog.ended).toBe(true);
    await expectPass(peer);
  });

  it('REGISTERs with digest after a 401 (SIPp verifies the response), then un-REGISTERs', async () => {
    peer = await startSipp('uas-register.xml', null);
    const u = await startUa();
    const states: string[] = [];
    const reg = u.register({
      registrar: `sip:127.0.0.1:${peer.port}`,
      aor: 'sip:vm@127.0.0.1',
      credentials: { username: 'vm', password: 's3cret' },
      expires: 120,
    });
    const registered = new Promise<SipResponse | undefined>((resolve) => {
      reg.onChange = (state, res) => {
        states.push(state);
        if (state !== 'registering') resolve(res);
      };
    });
    const res = await registered;
    expect(res?.status).toBe(200);
    expect(reg.state).toBe('registered');
    expect(reg.granted).toBe(120);
    await reg.stop();
    expect(states).toEqual(['registered', 'stopped']);
    await expectPass(peer);
  });

  it('a wrong password ends the registration in failed (SIPp answers 403)', async () => {
    peer = await startSipp('uas-register.xml', null);
    const u = await startUa();
    const reg = u.register({
      registrar: `sip:127.0.0.1:${peer.port}`,
      aor: 'sip:vm@127.0.0.1',
      credentials: { username: 'vm', password: 'wrong' },
      expires: 120,
      retry: { min: 60, max: 60 },
    });
    const failed = new Promise<SipResponse | undefined>((resolve) => {
      reg.onChange = (state, res) => state === 'failed' && resolve(res);
    });
    expect((await failed)?.status).toBe(403);
    await expectPass(peer);
  });

  it('calls out through a challenging PBX: 401, digest retry, 180, 200 with Record-Route, ACK, our BYE', async () => {
    peer = await startSipp('uas-answer.xml', null);
    const u = await startUa();
    const progress: number[] = [];
    const call = u.invite({
      uri: `sip:bob@127.0.0.1:${peer.port}`,
      from: '"Voicemail" <sip:vm@127.0.0.1>',
      sdp: SDP,
      credentials: { username: 'vm', password: 'pw' },
      onProgress: (res) => progress.push(res.status),
    });
    const { dialog, response } = await call.done;
    expect(response.status).toBe(200);
    expect(progress).toEqual([180]);
    await dialog.bye();
    await expectPass(peer);
  });

  it('sends an unsolicited message-waiting NOTIFY', async () => {
    peer = await startSipp('uas-notify.xml', null);
    const u = await startUa();
    const res = await u.request({
      method: 'NOTIFY',
      uri: `sip:vm@127.0.0.1:${peer.port}`,
      from: 'sip:vm@127.0.0.1',
      headers: { event: 'message-summary', 'subscription-state': 'terminated;reason=noresource' },
      body: 'Messages-Waiting: yes\r\nMessage-Account: sip:vm@127.0.0.1\r\nVoice-Message: 2/5\r\n',
      contentType: 'application/simple-message-summary',
    });
    expect(res.status).toBe(200);
    await expectPass(peer);
  });
});
