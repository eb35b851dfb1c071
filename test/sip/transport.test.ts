import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { UserAgent } from '../../server/sip/user-agent.ts';
import { silentLog } from '../../server/sip/log.ts';
import { parseVia } from '../../server/sip/message.ts';
import { RawPeer } from './raw-peer.ts';

let ua: UserAgent | null = null;
let sock: Socket | null = null;
afterEach(async () => {
  sock?.destroy();
  await ua?.close();
});

const options = (n: number, via: string): string =>
  [
    `OPTIONS sip:vm@127.0.0.1 SIP/2.0`,
    `Via: ${via};branch=z9hG4bKtcp${n}-${Date.now()}`,
    'From: <sip:a@127.0.0.1>;tag=a',
    'To: <sip:vm@127.0.0.1>',
    `Call-ID: tcp-${n}`,
    `CSeq: ${n} OPTIONS`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');

async function tcpClient(port: number): Promise<{ text: () => string; closed: Promise<void> }> {
  const s = connect({ host: '127.0.0.1', port });
  sock = s;
  await new Promise<void>((resolve) => s.once('connect', () => resolve()));
  let text = '';
  s.on('data', (c: Buffer) => (text += c.toString()));
  const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
  return { text: () => text, closed };
}

async function until(pred: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('transport', () => {
  it('frames TCP by Content-Length: split and joined messages, answers on the same connection', async () => {
    ua = await UserAgent.start({
      host: '127.0.0.1',
      port: 0,
      tcp: true,
      userAgent: 't',
      log: silentLog,
    });
    const c = await tcpClient(ua.tcpPort ?? 0);
    const via = 'SIP/2.0/TCP 127.0.0.1:9'; // port 9 is nobody: the answer must use the connection
    const one = options(1, via);
    sock?.write(one.slice(0, 40));
    await new Promise((r) => setTimeout(r, 30));
    sock?.write(one.slice(40) + '\r\n\r\n' + options(2, via) + options(3, via));
    await until(() => (c.text().match(/SIP\/2\.0 200 OK/g) ?? []).length === 3);
    expect(c.text()).toContain('CSeq: 3 OPTIONS');
  });

  it('closes a TCP connection whose message would exceed the buffer limit', async () => {
    ua = await UserAgent.start({
      host: '127.0.0.1',
      port: 0,
      tcp: true,
      userAgent: 't',
      log: silentLog,
    });
    const c = await tcpClient(ua.tcpPort ?? 0);
    sock?.write(
      options(1, 'SIP/2.0/TCP 127.0.0.1:9').replace('Content-Length: 0', 'Content-Length: 900000'),
    );
    await c.closed;
    expect(c.text()).toBe('');
  });

  it('stamps received and rport into the top Via and answers to them (RFC 3581)', async () => {
    ua = await UserAgent.start({
      host: '127.0.0.1',
      port: 0,
      tcp: false,
      userAgent: 't',
      log: silentLog,
    });
    const peer = await RawPeer.start();
    try {
      // sent-by names a host and port that are not where the request came from
      peer.send(options(1, 'SIP/2.0/UDP 192.0.2.1:5999;rport'), ua.port);
      const [res] = await peer.until((g) => g.length === 1);
      const via = parseVia(res?.headers.get('via')?.[0] ?? '');
      expect(via.params).toMatchObject({ rport: String(peer.port), received: '127.0.0.1' });
    } finally {
      peer.close();
    }
  });
});
