// A bounded, seeded mutation fuzz of the SIP listener: a few thousand mutated valid requests
// (INVITE with SDP, OPTIONS, REGISTER, SUBSCRIBE, BYE, CANCEL, ACK) over UDP and TCP against
// `voicegate serve` in its own process. Every few hundred inputs the server must still answer a
// fresh OPTIONS; at the end it must be alive and its memory after a GC bounded.
// Replay a failure with FUZZ_SEED=<seed printed in the message>; SIP_FUZZ_INPUTS sets the count.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from './sip-child-server.ts';
import { fuzzSeed, rng } from './fuzz-kit.ts';

const SEED = fuzzSeed();
const INPUTS = Number(process.env.SIP_FUZZ_INPUTS ?? 5000);
const PROBE_EVERY = 300;

const random = rng(SEED);
const int = (n: number): number => Math.floor(random() * n);
const pick = <T>(list: readonly T[]): T => list[int(list.length)]!;

const SDP = [
  'v=0',
  'o=fuzz 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 40000 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  '',
].join('\r\n');

const METHODS = ['INVITE', 'OPTIONS', 'REGISTER', 'SUBSCRIBE', 'BYE', 'CANCEL', 'ACK'] as const;

/** One valid request, as header lines and a body, from 127.0.0.1:`port` over `transport`. */
function valid(
  method: (typeof METHODS)[number],
  n: number,
  sip: number,
  transport: string,
  port: number,
): { start: string; headers: string[]; body: string } {
  const user = pick(['800', '201', '999', 'vm']);
  const inDialog = method === 'BYE' || (method === 'ACK' && random() < 0.5);
  const headers = [
    `Via: SIP/2.0/${transport} 127.0.0.1:${port};branch=z9hG4bKfz${SEED}x${n};rport`,
    'Max-Forwards: 70',
    `From: "Fuzz ${n}" <sip:555${n % 1000}@127.0.0.1>;tag=fz${n}`,
    `To: <sip:${user}@127.0.0.1>${inDialog ? `;tag=t${n}` : ''}`,
    `Call-ID: fuzz-${SEED}-${n}@127.0.0.1`,
    `CSeq: ${1 + (n % 50)} ${method}`,
    `Contact: <sip:555${n % 1000}@127.0.0.1:${port}${transport === 'TCP' ? ';transport=tcp' : ''}>`,
    'User-Agent: sip-fuzz',
  ];
  let body = '';
  if (method === 'INVITE') {
    headers.push('Content-Type: application/sdp');
    body = SDP;
  }
  if (method === 'REGISTER') headers.push('Expires: 60');
  if (method === 'SUBSCRIBE') headers.push('Event: message-summary', 'Expires: 60');
  headers.push(`Content-Length: ${Buffer.byteLength(body)}`);
  const uri = method === 'REGISTER' ? 'sip:127.0.0.1' : `sip:${user}@127.0.0.1:${sip}`;
  return { start: `${method} ${uri} SIP/2.0`, headers, body };
}

const GARBAGE = [
  '<',
  '>',
  '"',
  '<sip:x@127.0.0.1:5,060>',
  '<sip:x@127.0.0.1:99999>',
  '<sip:x@127.0.0.1:0>',
  'sip:',
  '<mailto:x@y>',
  '<sip:@>',
  '<sip:[::1>',
  '"\\',
  ';;;;',
  '%00%ff',
  '\u00ff\u00fe',
  '<sip:x@h;lr;lr;lr=>',
  '*',
  ',',
  '<sip:a@b>,<',
  '-1',
  '99999999999999999999',
  '4294967296 INVITE',
  'SIP/2.0/UDP',
  'SIP/2.0/UDP [::1',
  'SIP/2.0/TCP 127.0.0.1:65536',
  'SIP/2.0/XYZ host;branch=',
];

const hugeValue = (): string => 'A'.repeat(pick([300, 5000, 20_000, 70_000]));

/** 1 to 3 mutations of a valid request; the bytes to send. */
function mutate(req: { start: string; headers: string[]; body: string }): Buffer {
  let { start, body } = req;
  const headers = [...req.headers];
  let bytes: Buffer | null = null;
  const headerOf = (name: string): number =>
    headers.findIndex((h) => h.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  const setValue = (name: string, value: string): void => {
    const i = headerOf(name);
    if (i >= 0) headers[i] = `${name}: ${value}`;
    else headers.push(`${name}: ${value}`);
  };
  for (let k = 1 + int(3); k > 0; k--) {
    switch (int(11)) {
      case 0: // header duplicated
        headers.splice(int(headers.length + 1), 0, pick(headers));
        break;
      case 1: // header removed
        headers.splice(int(headers.length), 1);
        break;
      case 2: // garbage in the Request-URI
        start = start.replace(
          / \S+ /,
          ` ${pick(['sip:', 'x', 'sip:a@b:99999', 'tel:+1', pick(GARBAGE).replace(/\s/g, '')])} `,
        );
        break;
      case 3: // garbage in a name-addr
        setValue(pick(['From', 'To', 'Contact', 'Record-Route', 'Route']), pick(GARBAGE));
        break;
      case 4: // garbage in Via
        setValue('Via', pick(GARBAGE));
        break;
      case 5: // garbage in CSeq
        setValue('CSeq', pick([...GARBAGE, '1', '1 OPTIONS', '2147483648 INVITE', 'x INVITE']));
        break;
      case 6: // a Content-Length that lies
        setValue(
          'Content-Length',
          pick(['-1', '999999', '10', 'abc', '', String(body.length + 5), '0']),
        );
        break;
      case 7: // a huge value, or very many headers
        if (random() < 0.5) setValue(pick(['Subject', 'From', 'Via', 'Call-ID']), hugeValue());
        else for (let i = 0; i < 200; i++) headers.push(`X-Many-${i}: ${i}`);
        break;
      case 8: // garbage in the body
        body = random() < 0.5 ? body.replace(/\d+/g, () => String(int(1e9))) : hugeValue();
        break;
      default: {
        // bytes flipped, or the message cut short
        bytes ??= Buffer.from([start, ...headers, '', body].join('\r\n'));
        if (random() < 0.6) {
          for (let i = 1 + int(8); i > 0; i--) bytes[int(bytes.length)] = int(256);
        } else bytes = bytes.subarray(0, int(bytes.length));
      }
    }
  }
  return bytes ?? Buffer.from([start, ...headers, '', body].join('\r\n'));
}

function options(n: number, port: number): string {
  return [
    `OPTIONS sip:vm@127.0.0.1 SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bKprobe${SEED}x${n}${Date.now()};rport`,
    'From: <sip:probe@127.0.0.1>;tag=probe',
    'To: <sip:vm@127.0.0.1>',
    `Call-ID: probe-${SEED}-${n}-${Date.now()}`,
    `CSeq: ${n} OPTIONS`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

async function bindUdp(): Promise<UdpSocket> {
  const s = createSocket('udp4');
  s.on('error', () => {});
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

describe('SIP fuzz', { timeout: 120_000 }, () => {
  let server: ChildServer;
  beforeAll(async () => {
    // A small per-source limit keeps the calls the fuzz happens to set up (to 800) few.
    server = await startChildServer(['sip.maxCallsPerSource=5']);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it(`survives ${INPUTS} mutated requests over UDP and TCP (seed ${SEED})`, async () => {
    const sip = server.sip;
    const fuzz = await bindUdp();
    const prober = await bindUdp();
    const probePort = prober.address().port;
    const answered = new Set<string>();
    prober.on('message', (d: Buffer) => {
      const text = d.toString('latin1');
      const id = /^Call-ID:\s*(\S+)/im.exec(text)?.[1];
      if (/^SIP\/2\.0 200 /.test(text) && id) answered.add(id);
    });
    let tcp: Socket | null = null;
    let tcpSent = 0;
    const recent: string[] = [];
    const context = (): string =>
      `seed ${SEED} (replay: FUZZ_SEED=${SEED}); server ${server.exit ?? 'running'}\n` +
      `last inputs:\n${recent.join('\n---\n')}\nserver log:\n${server.tail()}`;

    /** A fresh OPTIONS gets its 200 (a few tries: UDP may drop under the flood). */
    const stillAnswers = async (n: number): Promise<void> => {
      for (let attempt = 0; attempt < 10; attempt++) {
        expect(server.exit, context()).toBeNull();
        const text = options(n * 100 + attempt, probePort);
        const id = /^Call-ID: (\S+)/m.exec(text)![1]!;
        prober.send(text, sip, '127.0.0.1');
        const deadline = Date.now() + 2000;
        while (!answered.has(id) && Date.now() < deadline && !server.exit)
          await new Promise((r) => setTimeout(r, 20));
        if (answered.has(id)) return;
      }
      throw new Error(`no 200 to a well-formed OPTIONS after input ${n}\n${context()}`);
    };

    await stillAnswers(0);
    const before = await server.memory();
    const started = Date.now();
    try {
      for (let n = 1; n <= INPUTS; n++) {
        const overTcp = random() < 0.4;
        if (overTcp && (!tcp || tcp.destroyed || tcpSent >= 25)) {
          tcp?.destroy();
          const s = connect({ host: '127.0.0.1', port: sip });
          s.on('error', () => {});
          s.on('data', () => {});
          await new Promise<void>((resolve) => {
            s.once('connect', () => resolve());
            s.once('close', () => resolve());
          });
          tcp = s;
          tcpSent = 0;
        }
        const method = pick(METHODS);
        const port = overTcp ? (tcp?.localPort ?? 5060) : fuzz.address().port;
        const bytes = mutate(valid(method, n, sip, overTcp ? 'TCP' : 'UDP', port));
        recent.push(
          `${overTcp ? 'TCP' : 'UDP'} ${JSON.stringify(bytes.toString('latin1').slice(0, 600))}`,
        );
        if (recent.length > 5) recent.shift();
        if (overTcp && tcp && !tcp.destroyed) {
          tcp.write(bytes);
          tcpSent++;
        } else if (bytes.length <= 65_507) {
          await new Promise<void>((resolve) => fuzz.send(bytes, sip, '127.0.0.1', () => resolve()));
        }
        // Let the server breathe now and then, so probes measure it, not the socket buffer.
        if (n % 50 === 0) await new Promise((r) => setTimeout(r, 5));
        if (n % PROBE_EVERY === 0) await stillAnswers(n);
      }
      const seconds = (Date.now() - started) / 1000;
      await stillAnswers(INPUTS + 1);
      expect(server.exit, context()).toBeNull();
      expect(() => process.kill(server.child.pid!, 0), context()).not.toThrow();
      const after = await server.memory();
      const mb = (b: number): string => `${(b / 1048576).toFixed(1)} MB`;
      console.log(
        `sip fuzz: seed ${SEED}, ${INPUTS} inputs in ${seconds.toFixed(1)} s ` +
          `(${Math.round(INPUTS / seconds)}/s); heap after GC ${mb(before.heapUsed)} -> ` +
          `${mb(after.heapUsed)}, rss ${mb(before.rss)} -> ${mb(after.rss)}; ` +
          `${server.errors.length} error-level log lines`,
      );
      // Transactions and calls the fuzz started may still be running; nothing grows unbounded.
      expect(after.heapUsed, context()).toBeLessThan(before.heapUsed + 64 * 1048576);
      expect(after.rss, context()).toBeLessThan(before.rss + 256 * 1048576);
    } finally {
      tcp?.destroy();
      fuzz.close();
      prober.close();
    }
  });
});
