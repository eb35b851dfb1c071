import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLog } from '../../server/sip/log.ts';
import {
  createRequest,
  getHeader,
  getHeaders,
  makeResponse,
  newBranch,
  parseVia,
  setHeader,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from '../../server/sip/message.ts';
import { TransactionLayer, type ServerTransaction } from '../../server/sip/transaction.ts';
import { Transport, type Peer } from '../../server/sip/transport.ts';
import { RawPeer, sleep } from './raw-peer.ts';

// Small timers keep the whole RFC 3261 timer ladder within about a second.
const TIMERS = { t1: 20, t2: 80, t4: 100 };

let transport: Transport;
let layer: TransactionLayer;
let peer: RawPeer;
let incoming: { req: SipRequest; st: ServerTransaction | null }[];

beforeEach(async () => {
  incoming = [];
  let l: TransactionLayer | null = null;
  transport = await Transport.start({
    host: '127.0.0.1',
    port: 0,
    tcp: false,
    log: silentLog,
    onMessage: (m, s) => l?.handle(m, s),
  });
  layer = l = new TransactionLayer(transport, TIMERS, silentLog, {
    onRequest: (req, _source, st) => incoming.push({ req, st }),
    onStrayResponse: () => undefined,
  });
  peer = await RawPeer.start();
});

afterEach(async () => {
  layer.close();
  await transport.close();
  peer.close();
});

function request(
  method: string,
  branch = newBranch(),
  via = `SIP/2.0/UDP 127.0.0.1:${peer?.port};branch=${branch}`,
): SipRequest {
  const req = createRequest(method, 'sip:vm@127.0.0.1');
  setHeader(req, 'via', via);
  setHeader(req, 'from', '<sip:a@127.0.0.1>;tag=f1');
  setHeader(req, 'to', '<sip:vm@127.0.0.1>');
  setHeader(req, 'call-id', `c-${branch}`);
  setHeader(req, 'cseq', `1 ${method}`);
  return req;
}

const toPeer = (): Peer => ({ transport: 'udp', address: '127.0.0.1', port: peer.port });
const count = (got: SipMessage[], pred: (m: SipMessage) => boolean): number =>
  got.filter(pred).length;

describe('client transactions over UDP', () => {
  it('non-INVITE: Timer E doubles up to T2, Timer F times out with 408', async () => {
    const results: SipResponse[] = [];
    const started = Date.now();
    layer.sendRequest(
      request(
        'OPTIONS',
        newBranch(),
        `SIP/2.0/UDP 127.0.0.1:${transport.port};branch=${newBranch()}`,
      ),
      toPeer(),
      {
        onResponse: (r) => results.push(r),
      },
    );
    while (results.length === 0 && Date.now() - started < 3000) await sleep(20);
    const elapsed = Date.now() - started;
    expect(results[0]?.status).toBe(408);
    expect(elapsed).toBeGreaterThanOrEqual(64 * TIMERS.t1 - 5);
    const times = peer.received.map((r) => r.at - started);
    // Sent at 0, 20, 60, 140, 220, ... : 2 doublings, then every T2 until 64*T1 = 1280 ms.
    expect(times.length).toBeGreaterThanOrEqual(14);
    expect(times.length).toBeLessThanOrEqual(19);
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    expect(Math.max(...gaps.slice(3))).toBeLessThan(TIMERS.t2 * 2);
  });

  it('INVITE: a 486 is ACKed on the same branch, and again when the 486 is retransmitted', async () => {
    const results: SipResponse[] = [];
    const branch = newBranch();
    const invite = request(
      'INVITE',
      branch,
      `SIP/2.0/UDP 127.0.0.1:${transport.port};branch=${branch}`,
    );
    layer.sendRequest(invite, toPeer(), { onResponse: (r) => results.push(r) });
    await peer.until((got) => got.length >= 1);
    const busy = makeResponse(invite, 486, undefined, 'callee');
    peer.send(busy, transport.port);
    const got = await peer.until(
      (g) => count(g, (m) => m.kind === 'request' && m.method === 'ACK') >= 1,
    );
    const ack = got.find((m) => m.kind === 'request' && m.method === 'ACK') as SipRequest;
    expect(parseVia(getHeaders(ack, 'via')[0] ?? '').params.branch).toBe(branch);
    expect(getHeader(ack, 'to')).toBe('<sip:vm@127.0.0.1>;tag=callee');
    expect(getHeader(ack, 'cseq')).toBe('1 ACK');
    const invitesBefore = count(got, (m) => m.kind === 'request' && m.method === 'INVITE');
    peer.send(busy, transport.port);
    await peer.until((g) => count(g, (m) => m.kind === 'request' && m.method === 'ACK') >= 2);
    await sleep(100);
    // Timer A stopped with the final response: no more INVITEs, and the TU heard the 486 once.
    expect(
      count(
        peer.received.map((r) => r.msg),
        (m) => m.kind === 'request' && m.method === 'INVITE',
      ),
    ).toBe(invitesBefore);
    expect(results.map((r) => r.status)).toEqual([486]);
  });
});

describe('server transactions over UDP', () => {
  it('non-INVITE: a retransmitted request gets the last response again, the TU sees it once', async () => {
    const req = request('OPTIONS');
    peer.send(req, transport.port);
    while (incoming.length === 0) await sleep(5);
    incoming[0]?.st?.respond(makeResponse(incoming[0].req, 200, undefined, 't'));
    await peer.until((g) => g.length >= 1);
    peer.send(req, transport.port);
    const got = await peer.until((g) => g.length >= 2);
    expect(got.map((m) => (m.kind === 'response' ? m.status : 0))).toEqual([200, 200]);
    expect(incoming).toHaveLength(1);
  });

  it('INVITE: 100 Trying at once, Timer G resends a 486 until the ACK, then it stops', async () => {
    const branch = newBranch();
    const invite = request('INVITE', branch);
    peer.send(invite, transport.port);
    await peer.until((g) => g.some((m) => m.kind === 'response' && m.status === 100));
    while (incoming.length === 0) await sleep(5);
    const st = incoming[0]?.st;
    st?.respond(makeResponse(invite, 486, undefined, 'x'));
    await peer.until((g) => count(g, (m) => m.kind === 'response' && m.status === 486) >= 3);
    const ack = request('ACK', branch);
    setHeader(ack, 'to', '<sip:vm@127.0.0.1>;tag=x');
    peer.send(ack, transport.port);
    await sleep(50);
    const n = count(
      peer.received.map((r) => r.msg),
      (m) => m.kind === 'response' && m.status === 486,
    );
    await sleep(250);
    expect(
      count(
        peer.received.map((r) => r.msg),
        (m) => m.kind === 'response' && m.status === 486,
      ),
    ).toBe(n);
    expect(st?.state).toBe('terminated'); // Timer I (T4) ran out
    // The ACK was absorbed: the TU never saw it.
    expect(incoming.map((i) => i.req.method)).toEqual(['INVITE']);
  });

  it('INVITE: a retransmitted INVITE gets the 100 again; a CANCEL finds its INVITE by branch', async () => {
    const branch = newBranch();
    const invite = request('INVITE', branch);
    peer.send(invite, transport.port);
    peer.send(invite, transport.port);
    await peer.until((g) => count(g, (m) => m.kind === 'response' && m.status === 100) >= 2);
    const cancel = request('CANCEL', branch);
    peer.send(cancel, transport.port);
    while (incoming.length < 2) await sleep(5);
    expect(incoming.map((i) => i.req.method)).toEqual(['INVITE', 'CANCEL']);
    expect(layer.findInvite(incoming[1]?.req as SipRequest)).toBe(incoming[0]?.st);
  });

  it('Timer H gives up on an ACK that never comes', async () => {
    const invite = request('INVITE');
    peer.send(invite, transport.port);
    while (incoming.length === 0) await sleep(5);
    const st = incoming[0]?.st;
    st?.respond(makeResponse(invite, 603, undefined, 'x'));
    await sleep(64 * TIMERS.t1 + 100);
    expect(st?.state).toBe('terminated');
  });
});
