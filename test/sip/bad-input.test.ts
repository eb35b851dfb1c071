// Malformed SIP from the network, as exact bytes on real sockets: each case once stopped the
// whole process. Whatever arrives, the user agent answers 400 or drops it, and goes on serving.
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { UserAgent, type Dialog } from '../../server/sip/user-agent.ts';
import { silentLog } from '../../server/sip/log.ts';
import { getHeader, type SipMessage, type SipRequest } from '../../server/sip/message.ts';
import { RawPeer } from './raw-peer.ts';

const open: { close(): unknown }[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const o of open.splice(0)) await o.close();
});

async function startUa(o: { tcp?: boolean; t1?: number } = {}): Promise<UserAgent> {
  const t1 = o.t1 ?? 500;
  const ua = await UserAgent.start({
    host: '127.0.0.1',
    port: 0,
    tcp: o.tcp ?? false,
    userAgent: 'vg-test',
    log: silentLog,
    timers: { t1, t2: t1 * 4, t4: t1 * 5 },
  });
  open.push(ua);
  return ua;
}

async function rawPeer(): Promise<RawPeer> {
  const p = await RawPeer.start();
  open.push(p);
  return p;
}

const BROKEN_TO = 'OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\nTo: <\r\n\r\n';

function options(port: number, n: number, transport = 'UDP'): string {
  return [
    `OPTIONS sip:vm@127.0.0.1 SIP/2.0`,
    `Via: SIP/2.0/${transport} 127.0.0.1:${port};branch=z9hG4bKok${n}${Date.now()};rport`,
    'From: <sip:a@127.0.0.1>;tag=a',
    'To: <sip:vm@127.0.0.1>',
    `Call-ID: ok-${n}-${Date.now()}`,
    `CSeq: ${n} OPTIONS`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

const statuses = (got: SipMessage[]): number[] =>
  got.flatMap((m) => (m.kind === 'response' ? [m.status] : []));

/** A TCP client collecting what the server writes back. */
async function tcpClient(port: number): Promise<{ sock: Socket; text: () => string }> {
  const sock = connect({ host: '127.0.0.1', port });
  sockets.push(sock);
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  let text = '';
  sock.on('data', (c: Buffer) => (text += c.toString()));
  return { sock, text: () => text };
}

async function until(what: string, pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('malformed requests', () => {
  it('an OPTIONS whose To is an unterminated < over UDP is dropped; the next OPTIONS gets 200', async () => {
    const ua = await startUa();
    const peer = await rawPeer();
    peer.send(BROKEN_TO, ua.port);
    peer.send(options(peer.port, 1), ua.port);
    const got = await peer.until((g) => statuses(g).includes(200));
    expect(statuses(got)).toEqual([200]);
  });

  it('the same over TCP (with Content-Length: 0): the connection and the server go on', async () => {
    const ua = await startUa({ tcp: true });
    const c = await tcpClient(ua.tcpPort!);
    const broken = BROKEN_TO.replace('SIP/2.0/UDP', 'SIP/2.0/TCP').replace(
      '\r\n\r\n',
      '\r\nContent-Length: 0\r\n\r\n',
    );
    c.sock.write(broken);
    c.sock.write(options(9, 2, 'TCP'));
    await until('the 200 to the good OPTIONS', () => c.text().includes('SIP/2.0 200 OK'));
    // The broken one's Via names an address we cannot answer; the good one's is answered.
    expect(c.text()).toContain('CSeq: 2 OPTIONS');
  });

  it('a malformed request with a readable Via gets 400 naming the problem', async () => {
    const ua = await startUa();
    const peer = await rawPeer();
    peer.send(
      options(peer.port, 3).replace('To: <sip:vm@127.0.0.1>', 'To: "x" <sip:vm@127.0.0.1'),
      ua.port,
    );
    // The 400 copies the broken To, so only its raw bytes are read here.
    await until('the 400', () => peer.raw.length === 1);
    expect(peer.raw[0]).toMatch(/^SIP\/2\.0 400 Bad Request \(unterminated <[^\r]*\r\n/);
  });
});

describe('headers a dialog needs later are checked when the INVITE arrives', () => {
  const invite = (peer: RawPeer, ua: UserAgent, contact: string): string => {
    const body = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n';
    return [
      `INVITE sip:vm@127.0.0.1:${ua.port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK${Math.random().toString(36).slice(2)};rport`,
      'From: <sip:caller@127.0.0.1>;tag=c1',
      'To: <sip:vm@127.0.0.1>',
      `Call-ID: bad-contact-${Date.now()}`,
      'CSeq: 1 INVITE',
      `Contact: ${contact}`,
      'Content-Type: application/sdp',
      `Content-Length: ${body.length}`,
      '',
      body,
    ].join('\r\n');
  };

  it.each([
    ['a port with a comma', '<sip:x@127.0.0.1:5,060>'],
    ['a port out of range', '<sip:x@127.0.0.1:99999>'],
    ['a scheme no dialog can reach', '<mailto:x@example.com>'],
    ['an unterminated <', '<sip:x@127.0.0.1'],
  ])('an INVITE whose Contact has %s is answered 400, never 200', async (_what, contact) => {
    const ua = await startUa();
    let offered = 0;
    ua.onInvite = (inv) => {
      offered++;
      void inv.accept('v=0\r\n').catch(() => undefined);
    };
    const peer = await rawPeer();
    peer.send(invite(peer, ua, contact), ua.port);
    const got = await peer.until((g) => statuses(g).some((s) => s >= 200));
    expect(statuses(got)).toEqual([400]);
    expect(offered).toBe(0);
  });
});

describe('a dialog whose BYE cannot be sent', () => {
  it('ends (no ACK, BYE impossible) without an unhandled rejection, and the UA still answers', async () => {
    const ua = await startUa({ t1: 10 });
    const peer = await rawPeer();
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown): void => void unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      // Handed to the transaction layer directly, past the parser's checks: a Contact that can
      // never be a BYE's Request-URI, as if a check were missed.
      const req: SipRequest = {
        kind: 'request',
        method: 'INVITE',
        uri: `sip:vm@127.0.0.1:${ua.port}`,
        headers: new Map([
          ['via', [`SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bKnobye1`]],
          ['from', ['<sip:caller@127.0.0.1>;tag=nb']],
          ['to', ['<sip:vm@127.0.0.1>']],
          ['call-id', ['no-bye-1']],
          ['cseq', ['1 INVITE']],
          ['contact', ['<sip:x@127.0.0.1:5,060>']],
        ]),
        body: '',
      };
      const ended = new Promise<string>((resolve) => {
        ua.onInvite = (inv) => {
          inv.accept('v=0\r\n').then(
            (d: Dialog) => d.onEnd(resolve),
            (err: Error) => resolve(`not established: ${err.message}`),
          );
        };
      });
      ua.layer.handle(req, { transport: 'udp', address: '127.0.0.1', port: peer.port });
      // 64*T1 = 640 ms of 2xx retransmissions without an ACK, then the BYE that cannot be made.
      expect(await ended).toMatch(/no ACK/);
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
      expect(ua.dialogs.size).toBe(0);
      peer.send(options(peer.port, 4), ua.port);
      const got = await peer.until((g) =>
        g.some((m) => m.kind === 'response' && getHeader(m, 'cseq') === '4 OPTIONS'),
      );
      expect(got.length).toBeGreaterThan(0);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
