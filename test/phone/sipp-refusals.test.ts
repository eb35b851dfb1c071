import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { runSipp } from '../helpers/sipp.ts';
import type { TestServer } from '../helpers/test-server.ts';
import { phoneServer } from './phone-kit.ts';
import { listed, options, received, scenario, sendDatagrams, sippTrace } from './sipp-kit.ts';

/** Sends `count` datagrams to 127.0.0.1:`port` as fast as the socket takes them. */
async function flood(port: number, count: number): Promise<void> {
  const socket = createSocket('udp4');
  const rtp = Buffer.alloc(12 + 160, 0xd5);
  try {
    for (let i = 0; i < count; i++) {
      rtp.writeUInt8(0x80, 0);
      rtp.writeUInt8(i % 10 === 0 ? 101 : 8, 1); // PCMA, and every tenth a telephone-event
      rtp.writeUInt16BE(Math.floor(Math.random() * 0x10000), 2);
      rtp.writeUInt32BE(Math.floor(Math.random() * 0x100000000), 4);
      rtp.writeUInt32BE(i % 100, 8); // many SSRCs
      const packet = i % 7 === 0 ? Buffer.from(`garbage ${i}`) : rtp;
      await new Promise<void>((resolve, reject) =>
        socket.send(packet, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
      );
    }
  } finally {
    socket.close();
  }
}

describe('SIPp against refusals and bad input', { timeout: 60_000 }, () => {
  let server: TestServer | undefined;

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('refuses a call beyond sip.maxCalls with 486 and counts it', async () => {
    server = await phoneServer(['sip.maxCalls=1']);
    const target = `127.0.0.1:${server.ports.sip}`;
    const held = runSipp(scenario('quiet-call.xml'), target, {
      service: '201',
      args: ['-d', '6000'],
    });
    const deadline = Date.now() + 10_000;
    while (server.phone.counter.stats().active < 1 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(server.phone.counter.stats().active).toBe(1);

    const busy = await runSipp(scenario('busy-486.xml'), target, { service: '201' });
    expect(busy.code, busy.log).toBe(0);
    expect(server.phone.counter.stats().refused).toBe(1);
    const first = await held;
    expect(first.code, first.log).toBe(0);
  });

  it('refuses an unknown mailbox with 404 and an offer without G.711 with 488', async () => {
    server = await phoneServer();
    const target = `127.0.0.1:${server.ports.sip}`;
    const unknown = await runSipp(scenario('not-found-404.xml'), target, { service: '999' });
    expect(unknown.code, unknown.log).toBe(0);
    const noCodec = await runSipp(scenario('no-codec-488.xml'), target, { service: '201' });
    expect(noCodec.code, noCodec.log).toBe(0);
    expect(await listed(server, '201')).toEqual([]);
  });

  it('answers OPTIONS after garbage, a bad Via and an oversized datagram', async () => {
    server = await phoneServer();
    const port = server.ports.sip;
    const badVia = [
      `INVITE sip:201@127.0.0.1:${port} SIP/2.0`,
      'Via: SIP/2.0/UDP ;;;branch',
      'From: <sip:x@127.0.0.1>;tag=1',
      `To: <sip:201@127.0.0.1:${port}>`,
      'Call-ID: bad-via',
      'CSeq: 1 INVITE',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    const oversized = `OPTIONS sip:201@127.0.0.1 SIP/2.0\r\nX-Pad: ${'a'.repeat(65_000)}\r\n\r\n`;
    await sendDatagrams(port, [
      Buffer.from([0, 1, 2, 3, 255, 254, 13, 10, 13, 10]),
      'SIP/2.0 200 OK\r\n\r\n',
      'HELLO\r\n\r\n',
      `${'x'.repeat(3000)}\r\n\r\n`,
      badVia,
      oversized,
    ]);
    expect(await options(port)).toBe('SIP/2.0 200 OK');
  });

  it('survives an RTP flood during a call: OPTIONS answered, memory bounded', async () => {
    server = await phoneServer();
    const trace = sippTrace();
    const call = runSipp(scenario('quiet-call.xml'), `127.0.0.1:${server.ports.sip}`, {
      service: '201',
      args: ['-d', '6000', ...trace.args],
    });
    const answer = await received(trace, /^SIP\/2\.0 200 OK[\s\S]*^m=audio (\d+) RTP\/AVP 8/m);
    const rtpPort = Number(/^m=audio (\d+)/m.exec(answer.text)![1]);
    const before = process.memoryUsage().rss;
    await flood(rtpPort, 20_000);
    expect(await options(server.ports.sip)).toBe('SIP/2.0 200 OK');
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
    const done = await call;
    expect(done.code, done.log).toBe(0);
  });

  it('hangs up on a caller that sends no audio, and stores nothing', async () => {
    server = await phoneServer();
    const started = Date.now();
    // SIPp waits at most 30 s for the server's BYE.
    const run = await runSipp(scenario('silent-caller.xml'), `127.0.0.1:${server.ports.sip}`, {
      service: '201',
    });
    expect(run.code, run.log).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(await listed(server, '201')).toEqual([]);
  });

  it(
    'stops a caller that talks on at policy.maxMessageSeconds and hangs up',
    { timeout: 90_000 },
    async () => {
      server = await phoneServer(['policy.maxMessageSeconds=5']);
      const run = await runSipp(scenario('endless-caller.xml'), `127.0.0.1:${server.ports.sip}`, {
        service: '201',
        timeoutSeconds: 70,
      });
      expect(run.code, run.log).toBe(0);
      const [message, ...rest] = await listed(server, '201');
      expect(rest).toEqual([]);
      expect(message!.audio.durationMs).toBeGreaterThan(3000);
      expect(message!.audio.durationMs).toBeLessThanOrEqual(5000);
    },
  );
});
