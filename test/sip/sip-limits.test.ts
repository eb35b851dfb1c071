// The server's limits on what one source may hold: simultaneous calls (sip.maxCallsPerSource,
// trusted peers exempt) and TCP connections (limits.perAddress, limits.total, the deadline for a
// whole message). Clients bind distinct loopback addresses (127.0.0.x), as different hosts.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMessage, type SipResponse } from '../../server/sip/message.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

let server: TestServer | undefined;
const closers: (() => void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) c();
  await server?.stop();
  server = undefined;
});

/** A UDP phone on `address`, collecting the responses it gets. */
class Caller {
  readonly responses: SipResponse[] = [];
  private readonly waiters: (() => void)[] = [];
  readonly socket: UdpSocket;
  readonly address: string;
  readonly port: number;
  private constructor(socket: UdpSocket, address: string, port: number) {
    this.socket = socket;
    this.address = address;
    this.port = port;
  }

  static async on(address: string): Promise<Caller> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, address, resolve));
    const caller = new Caller(socket, address, socket.address().port);
    closers.push(() => socket.close());
    socket.on('message', (data) => {
      const msg = parseMessage(data);
      if (msg.kind === 'response') caller.responses.push(msg);
      for (const w of caller.waiters.splice(0)) w();
    });
    return caller;
  }

  send(text: string, port: number): void {
    this.socket.send(Buffer.from(text), port, '127.0.0.1');
  }

  invite(n: number, sipPort: number): string {
    const callId = `limit-${this.address}-${n}-${Date.now()}`;
    const sdp = [
      'v=0',
      `o=- ${n} 1 IN IP4 ${this.address}`,
      's=-',
      `c=IN IP4 ${this.address}`,
      't=0 0',
      `m=audio ${20000 + n * 2} RTP/AVP 0`,
      'a=rtpmap:0 PCMU/8000',
      '',
    ].join('\r\n');
    this.send(
      [
        `INVITE sip:800@127.0.0.1:${sipPort} SIP/2.0`,
        `Via: SIP/2.0/UDP ${this.address}:${this.port};branch=z9hG4bK${callId};rport`,
        `From: <sip:55501${n}@${this.address}>;tag=f${n}`,
        `To: <sip:800@127.0.0.1>`,
        `Call-ID: ${callId}`,
        `CSeq: 1 INVITE`,
        `Contact: <sip:55501${n}@${this.address}:${this.port}>`,
        'Max-Forwards: 70',
        'Content-Type: application/sdp',
        `Content-Length: ${Buffer.byteLength(sdp)}`,
        '',
        sdp,
      ].join('\r\n'),
      sipPort,
    );
    return callId;
  }

  /** The final status of the call `callId`, once it came. */
  async final(callId: string, timeoutMs = 15_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = this.responses.find(
        (r) => r.status >= 200 && r.headers.get('call-id')?.[0] === callId,
      );
      if (res) return res.status;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no final response to ${callId}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

describe('simultaneous calls from one source', { timeout: 60_000 }, () => {
  it('beyond sip.maxCallsPerSource get 486 (counted); another source and a trusted peer get through', async () => {
    server = await startTestServer(['sip.maxCallsPerSource=2', 'sip.trustedPeers=[127.0.0.4/32]']);
    const sip = server.ports.sip;
    const one = await Caller.on('127.0.0.2');
    const calls = [1, 2, 3].map((n) => one.invite(n, sip));
    const statuses = await Promise.all(calls.map((c) => one.final(c)));
    expect(statuses.sort()).toEqual([200, 200, 486]);
    expect(server.phone.counter.stats()).toMatchObject({ refusedPerSource: 1 });

    const other = await Caller.on('127.0.0.3');
    expect(await other.final(other.invite(4, sip))).toBe(200);

    const pbx = await Caller.on('127.0.0.4');
    const fromPbx = [5, 6, 7].map((n) => pbx.invite(n, sip));
    expect(await Promise.all(fromPbx.map((c) => pbx.final(c)))).toEqual([200, 200, 200]);
    // (Answered calls run the access number's flow; how many are still up is not asserted.)
    expect(server.phone.counter.stats()).toMatchObject({ refused: 1, refusedPerSource: 1 });
  });
});

/** A TCP connection from `address`; `closed` settles when the server closes it. */
async function tcpFrom(
  address: string,
  port: number,
): Promise<{ sock: Socket; text: () => string; closed: Promise<void> }> {
  const sock = connect({ host: '127.0.0.1', port, localAddress: address });
  closers.push(() => sock.destroy());
  let text = '';
  sock.on('data', (c: Buffer) => (text += c.toString()));
  sock.on('error', () => {});
  const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
  await new Promise<void>((resolve) => {
    sock.once('connect', () => resolve());
    void closed.then(resolve);
  });
  return { sock, text: () => text, closed };
}

function tcpOptions(address: string, port: number, n: number): string {
  return [
    `OPTIONS sip:vm@127.0.0.1 SIP/2.0`,
    `Via: SIP/2.0/TCP ${address}:${port};branch=z9hG4bKtcplim${n}-${Date.now()}`,
    `From: <sip:a@${address}>;tag=a${n}`,
    'To: <sip:vm@127.0.0.1>',
    `Call-ID: tcp-limit-${n}-${Date.now()}`,
    `CSeq: ${n} OPTIONS`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** Opens a connection that answered an OPTIONS, so the server surely counts it. */
async function held(address: string, port: number, n: number): Promise<Socket> {
  const c = await tcpFrom(address, port);
  c.sock.write(tcpOptions(address, c.sock.localPort!, n));
  const deadline = Date.now() + 10_000;
  while (!c.text().includes('SIP/2.0 200 OK')) {
    if (Date.now() > deadline) throw new Error(`no 200 over TCP from ${address}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return c.sock;
}

describe('SIP over TCP connection limits', { timeout: 60_000 }, () => {
  it('refuses connections beyond limits.perAddress and limits.total, and counts them', async () => {
    server = await startTestServer(['limits.perAddress=2', 'limits.total=3']);
    const sip = server.ports.sip;
    await held('127.0.0.2', sip, 1);
    await held('127.0.0.2', sip, 2);
    const third = await tcpFrom('127.0.0.2', sip);
    await third.closed;
    expect(third.text()).toBe('');

    await held('127.0.0.3', sip, 3);
    const fourth = await tcpFrom('127.0.0.5', sip);
    await fourth.closed;
    expect(fourth.text()).toBe('');
    expect(server.phone.ua.transport.stats()).toEqual({ tcpAccepted: 3, tcpRefused: 2 });
  });

  it('closes a connection whose first message trickles past limits.handshakeSeconds', async () => {
    server = await startTestServer(['limits.handshakeSeconds=1']);
    const c = await tcpFrom('127.0.0.6', server.ports.sip);
    const message = tcpOptions('127.0.0.6', c.sock.localPort!, 1);
    const started = Date.now();
    let i = 0;
    // One byte every 100 ms: the whole message would take seconds.
    const trickle = setInterval(() => c.sock.write(message.slice(i, ++i)), 100);
    closers.push(() => clearInterval(trickle));
    await c.closed;
    clearInterval(trickle);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(8000);
    expect(i).toBeLessThan(message.length);
    expect(c.text()).toBe('');
  });
});
