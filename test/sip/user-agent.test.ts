// The UserAgent's dialog rules, driven by a raw UDP socket (exact bytes) or by a second
// UserAgent on loopback.
import { afterEach, describe, expect, it } from 'vitest';
import { UserAgent, type Dialog, type IncomingRequest } from '../../server/sip/user-agent.ts';
import { silentLog } from '../../server/sip/log.ts';
import {
  getHeader,
  getHeaders,
  tagOf,
  type SipMessage,
  type SipResponse,
} from '../../server/sip/message.ts';
import { RawPeer, sleep } from './raw-peer.ts';

const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';
const TIMERS = { t1: 50, t2: 200, t4: 250 };

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

async function startUa(o: { tcp?: boolean; port?: number; t1?: number } = {}): Promise<UserAgent> {
  const timers = { ...TIMERS, t1: o.t1 ?? TIMERS.t1 };
  const ua = await UserAgent.start({
    host: '127.0.0.1',
    port: o.port ?? 0,
    tcp: o.tcp ?? false,
    userAgent: 'vg-test',
    log: silentLog,
    timers,
  });
  open.push(ua);
  return ua;
}

async function rawPeer(): Promise<RawPeer> {
  const p = await RawPeer.start();
  open.push(p);
  return p;
}

function raw(
  method: string,
  peer: RawPeer,
  ua: UserAgent,
  o: {
    branch?: string;
    to?: string;
    cseq?: number;
    callId?: string;
    body?: string;
    extra?: string[];
  } = {},
): string {
  const body = o.body ?? '';
  return [
    `${method} sip:vm@127.0.0.1:${ua.port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=${o.branch ?? `z9hG4bK${Math.random().toString(36).slice(2)}`};rport`,
    'From: <sip:caller@127.0.0.1>;tag=caller1',
    `To: ${o.to ?? '<sip:vm@127.0.0.1>'}`,
    `Call-ID: ${o.callId ?? 'call-1'}`,
    `CSeq: ${o.cseq ?? 1} ${method}`,
    `Contact: <sip:caller@127.0.0.1:${peer.port}>`,
    ...(o.extra ?? []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

const responses = (got: SipMessage[], status?: number): SipResponse[] =>
  got.filter(
    (m): m is SipResponse => m.kind === 'response' && (status === undefined || m.status === status),
  );

describe('UserAgent start', () => {
  it('binds TCP on the UDP port it picked, and a taken port keeps EADDRINUSE', async () => {
    const ua = await startUa({ tcp: true });
    expect(ua.tcpPort).toBe(ua.port);
    await expect(startUa({ port: ua.port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});

describe('UserAgent requests from a raw peer', () => {
  it('answers a malformed request with a readable Via with 400 and a reason; drops garbage', async () => {
    const ua = await startUa();
    const peer = await rawPeer();
    peer.send('complete garbage\r\n\r\n', ua.port);
    peer.send(raw('OPTIONS', peer, ua).replace('CSeq: 1 OPTIONS', 'CSeq: one OPTIONS'), ua.port);
    peer.send(raw('OPTIONS', peer, ua), ua.port);
    const got = await peer.until((g) => g.length >= 1);
    expect(responses(got, 200)).toHaveLength(1);
    // The 400 copies the bad CSeq, so only its raw text is there.
    expect(peer.raw).toHaveLength(2);
    expect(peer.raw[0]).toMatch(/^SIP\/2\.0 400 Bad Request \(bad CSeq: one OPTIONS\)\r\n/);
  });

  it('481 for a request in an unknown dialog, a CANCEL with no INVITE, and a BYE without To tag', async () => {
    const ua = await startUa();
    const peer = await rawPeer();
    peer.send(raw('INFO', peer, ua, { to: '<sip:vm@127.0.0.1>;tag=nope' }), ua.port);
    peer.send(raw('CANCEL', peer, ua), ua.port);
    peer.send(raw('BYE', peer, ua, { callId: 'other' }), ua.port);
    const got = await peer.until((g) => g.length >= 3);
    expect(responses(got).map((r) => r.status)).toEqual([481, 481, 481]);
  });

  it('rejects INVITE with 480 and others with 405 (with Allow) or 501 by default', async () => {
    const ua = await startUa();
    const peer = await rawPeer();
    peer.send(raw('INVITE', peer, ua, { body: SDP }), ua.port);
    peer.send(raw('MESSAGE', peer, ua, { callId: 'm' }), ua.port);
    peer.send(raw('FOO', peer, ua, { callId: 'f' }), ua.port);
    const got = await peer.until((g) => responses(g).filter((r) => r.status >= 200).length >= 3);
    const finals = responses(got).filter((r) => r.status >= 200);
    expect(finals.map((r) => r.status).sort()).toEqual([405, 480, 501]);
    expect(getHeader(finals.find((r) => r.status === 405) as SipResponse, 'allow')).toContain(
      'INVITE',
    );
  });

  it('491 for a re-INVITE while the 2xx is unacknowledged, 500 for an out-of-order CSeq, BYE and ACK after', async () => {
    const ua = await startUa();
    const peer = await rawPeer();
    const dialog = new Promise<Dialog>(
      (resolve) => (ua.onInvite = (inv) => void inv.accept(SDP).then(resolve)),
    );
    peer.send(raw('INVITE', peer, ua, { body: SDP, cseq: 5 }), ua.port);
    const [ok] = responses(await peer.until((g) => responses(g, 200).length >= 1), 200);
    const to = getHeader(ok as SipResponse, 'to') ?? '';
    expect(tagOf(to)).toBeTruthy();
    peer.send(raw('INVITE', peer, ua, { to, cseq: 6, body: SDP }), ua.port);
    await peer.until((g) => responses(g, 491).length === 1);
    peer.send(raw('ACK', peer, ua, { to, cseq: 5 }), ua.port);
    const d = await dialog;
    peer.send(raw('INFO', peer, ua, { to, cseq: 4 }), ua.port);
    await peer.until((g) => responses(g, 500).length === 1);
    const ended = new Promise<string>((r) => d.onEnd(r));
    peer.send(raw('BYE', peer, ua, { to, cseq: 7 }), ua.port);
    expect(await ended).toBe('remote bye');
    const bye200 = responses(
      await peer.until((g) => responses(g).some((r) => getHeader(r, 'cseq') === '7 BYE')),
    );
    expect(bye200.find((r) => getHeader(r, 'cseq') === '7 BYE')?.status).toBe(200);
  });

  it('sends BYE and rejects accept() when the ACK never comes (64*T1)', async () => {
    const ua = await startUa({ t1: 20 });
    const peer = await rawPeer();
    const result = new Promise<unknown>(
      (resolve) => (ua.onInvite = (inv) => void inv.accept(SDP).then(resolve, resolve)),
    );
    peer.send(raw('INVITE', peer, ua, { body: SDP }), ua.port);
    expect(await result).toMatchObject({ status: 408 });
    const got = await peer.until((g) => g.some((m) => m.kind === 'request' && m.method === 'BYE'));
    expect(responses(got, 200).length).toBeGreaterThanOrEqual(5);
  });

  it('a SUBSCRIBE dialog: the refresh is answered with the same To tag, NOTIFY goes in the dialog', async () => {
    const ua = await startUa();
    const peer = await rawPeer();
    const dialog = new Promise<Dialog>((resolve) => {
      ua.onRequest = (req) => resolve(req.acceptDialog(200, { headers: { expires: '60' } }));
    });
    peer.send(
      raw('SUBSCRIBE', peer, ua, { extra: ['Event: message-summary', 'Expires: 60'] }),
      ua.port,
    );
    const d = await dialog;
    const refreshes: IncomingRequest[] = [];
    d.onRequest((req) => {
      refreshes.push(req);
      req.respond(200, undefined, { headers: { expires: '0' } });
    });
    const [first] = responses(await peer.until((g) => g.length >= 1));
    const to = getHeader(first as SipResponse, 'to') ?? '';
    expect(getHeader(first as SipResponse, 'contact')).toMatch(/^<sip:127\.0\.0\.1:\d+>$/);
    peer.send(
      raw('SUBSCRIBE', peer, ua, { to, cseq: 2, extra: ['Event: message-summary', 'Expires: 0'] }),
      ua.port,
    );
    const got = await peer.until((g) => g.length >= 2);
    expect(tagOf(getHeader(responses(got)[1] as SipResponse, 'to'))).toBe(tagOf(to));
    expect(refreshes).toHaveLength(1);
    void d.request('NOTIFY', {
      headers: { event: 'message-summary', 'subscription-state': 'terminated' },
      body: 'Messages-Waiting: no\r\n',
      contentType: 'application/simple-message-summary',
    });
    const notify = (await peer.until((g) => g.some((m) => m.kind === 'request'))).find(
      (m) => m.kind === 'request',
    );
    expect(notify && notify.kind === 'request' && notify.uri).toBe(
      `sip:caller@127.0.0.1:${peer.port}`,
    );
    expect(getHeader(notify as SipMessage, 'from')).toBe(to);
    expect(getHeader(notify as SipMessage, 'to')).toBe('<sip:caller@127.0.0.1>;tag=caller1');
    expect(getHeaders(notify as SipMessage, 'via')[0]).toMatch(/;rport$/);
  });
});

describe('two UserAgents', () => {
  it('call, INFO (default 200), NOTIFY (default 405), a BYE answered by the handler later', async () => {
    const a = await startUa();
    const b = await startUa();
    const bDialog = new Promise<Dialog>((resolve) => {
      b.onInvite = (inv) => {
        inv.progress(183);
        void inv.accept(SDP).then(resolve);
      };
    });
    const progress: number[] = [];
    const call = a.invite({
      uri: `sip:vm@127.0.0.1:${b.port}`,
      from: 'sip:a@127.0.0.1',
      callId: 'chosen@voicegate.test',
      sdp: SDP,
      onProgress: (r) => progress.push(r.status),
    });
    const { dialog: ad, response } = await call.done;
    const bd = await bDialog;
    expect(response.body).toBe(SDP);
    expect(progress).toEqual([183]);
    expect([ad.callId, bd.callId]).toEqual(['chosen@voicegate.test', 'chosen@voicegate.test']);
    expect([ad.localTag, ad.remoteTag]).toEqual([bd.remoteTag, bd.localTag]);
    expect(
      (await ad.request('INFO', { body: 'Signal=5\r\n', contentType: 'application/dtmf-relay' }))
        .status,
    ).toBe(200);
    expect((await ad.request('NOTIFY')).status).toBe(405);
    let answer: (() => void) | null = null;
    bd.onBye((req) => (answer = () => req.respond(200)));
    const bye = ad.bye();
    await sleep(150);
    expect(answer).not.toBeNull();
    (answer as unknown as () => void)();
    await bye;
    expect(ad.ended && bd.ended).toBe(true);
  });

  it('cancel() after a provisional: the callee sees onCancel, the caller gets 487', async () => {
    const a = await startUa();
    const b = await startUa();
    const cancelled = new Promise<void>((resolve) => {
      b.onInvite = (inv) => {
        inv.progress();
        inv.onCancel(resolve);
      };
    });
    const call = a.invite({
      uri: `sip:vm@127.0.0.1:${b.port}`,
      from: 'sip:a@127.0.0.1',
      sdp: SDP,
      onProgress: () => call.cancel(),
    });
    await expect(call.done).rejects.toMatchObject({ status: 487 });
    await cancelled;
  });

  it('an INVITE may ring longer than 64*T1: Timer B stops at the first provisional', async () => {
    const a = await startUa({ t1: 10 });
    const b = await startUa({ t1: 10 });
    const answered = new Promise<Dialog>((resolve, reject) => {
      b.onInvite = (inv) => {
        inv.progress();
        setTimeout(() => inv.accept(SDP).then(resolve, reject), 64 * 10 + 200);
      };
    });
    const { response } = await a.invite({
      uri: `sip:vm@127.0.0.1:${b.port}`,
      from: 'sip:a@127.0.0.1',
      sdp: SDP,
    }).done;
    expect(response.status).toBe(200);
    await answered;
  });

  it('a failed INVITE rejects with its status', async () => {
    const a = await startUa();
    const b = await startUa();
    b.onInvite = (inv) => inv.reject(486);
    await expect(
      a.invite({ uri: `sip:vm@127.0.0.1:${b.port}`, from: 'sip:a@127.0.0.1', sdp: SDP }).done,
    ).rejects.toMatchObject({ status: 486 });
  });

  it('registration: retries after a failure with back-off, refreshes before expiry', async () => {
    const a = await startUa();
    const registrar = await startUa();
    const seen: string[] = [];
    registrar.onRequest = (req) => {
      seen.push(getHeader(req.request, 'cseq') ?? '');
      if (seen.length === 1) req.respond(503);
      else
        req.respond(200, undefined, {
          headers: { expires: '1', contact: getHeader(req.request, 'contact') ?? '' },
        });
    };
    const reg = a.register({
      registrar: `sip:127.0.0.1:${registrar.port}`,
      aor: 'sip:vm@127.0.0.1',
      expires: 1,
      retry: { min: 0.2, max: 1 },
    });
    const states: string[] = [];
    reg.onChange = (s) => states.push(s);
    await sleep(1300);
    expect(states.slice(0, 3)).toEqual(['failed', 'registering', 'registered']);
    // Granted 1 s: refreshed every half second.
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(new Set(seen).size).toBe(seen.length);
  });
});
