import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { fuzz, fuzzSeed } from './fuzz-kit.ts';
import { FuzzServer, RSS_LIMIT_MB } from './fuzz-server.ts';

const seed = fuzzSeed();
let server: FuzzServer;
let session = { cookie: '', csrf: '' };
beforeAll(async () => {
  server = await FuzzServer.start();
  const res = await fetch(`http://127.0.0.1:${server.ports.http}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mailbox: 'alice', code: '1234' }),
  });
  expect(res.status).toBe(200);
  session = {
    cookie: res.headers.get('set-cookie')!.split(';')[0]!,
    csrf: ((await res.json()) as { csrfToken: string }).csrfToken,
  };
}, 90_000);
afterAll(async () => server?.stop());

function request(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body: string | Buffer = '',
): Buffer {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const head = [
    `${method} ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ...(b.length || method !== 'GET' ? [`Content-Length: ${b.length}`] : []),
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), b]);
}

function corpus(): Buffer[] {
  const auth = { Cookie: session.cookie, 'X-CSRF-Token': session.csrf };
  const json = { ...auth, 'Content-Type': 'application/json' };
  const [id1, id2] = server.messageIds;
  const wav = Buffer.from(toneWav({ seconds: 0.1 }));
  const multipart = [
    '--zz',
    'Content-Disposition: form-data; name="file"; filename="g.wav"',
    'Content-Type: audio/wav',
    '',
    wav.toString('latin1'),
    '--zz--',
    '',
  ].join('\r\n');
  return [
    request('GET', '/healthz'),
    request('GET', '/readyz', { Connection: 'close' }),
    request('GET', '/api/version', { Accept: 'application/json' }),
    request('GET', '/api/openapi.json'),
    request(
      'POST',
      '/api/login',
      { 'Content-Type': 'application/json' },
      '{"mailbox":"alice","code":"1234"}',
    ),
    request(
      'POST',
      '/api/login',
      { 'Content-Type': 'application/json; charset=utf-8' },
      '{"mailbox":"201","code":"0000"}',
    ),
    request('GET', '/api/session', auth),
    request('GET', '/api/messages', { ...auth, 'If-None-Match': '"x"' }),
    request('GET', `/api/messages/${id1}`, auth),
    request('GET', `/api/messages/${id1}/audio`, { ...auth, Range: 'bytes=0-99' }),
    request('GET', `/api/messages/${id2}/audio`, { ...auth, Range: 'bytes=-500' }),
    request('GET', `/api/messages/${id2}/audio`, { ...auth, Range: 'bytes=10-20,30-40' }),
    request('GET', `/api/messages/${id1}/stream?format=wav`, { ...auth, Range: 'bytes=100-' }),
    request('GET', `/api/messages/${id1}/peaks?count=200`, auth),
    request('POST', `/api/messages/${id1}/actions`, json, '{"action":"save"}'),
    request('POST', `/api/messages/${id2}/actions`, json, '{"action":"markUnread"}'),
    request('POST', `/api/messages/${id1}/forward`, json, '{"to":"201"}'),
    request('POST', `/api/messages/${id1}/forward-email`, json, '{"to":"x@example.com"}'),
    request('GET', '/api/mailboxes?q=al', auth),
    request('GET', '/api/greetings', auth),
    request('PUT', '/api/greetings/active', json, '{"active":"standard"}'),
    request('PUT', '/api/greetings/unavailable', { ...auth, 'Content-Type': 'audio/wav' }, wav),
    request(
      'PUT',
      '/api/greetings/busy',
      { ...auth, 'Content-Type': 'multipart/form-data; boundary=zz' },
      Buffer.from(multipart, 'latin1'),
    ),
    request('GET', '/api/greetings/unavailable/audio', { ...auth, Range: 'bytes=0-' }),
    request('DELETE', '/api/greetings/busy', auth),
    request('PUT', '/api/code', json, '{"oldCode":"9999","newCode":"5678"}'),
    request('PUT', '/api/settings/email', json, '{"email":"alice@example.com","mode":"copy"}'),
    request(
      'POST',
      '/api/messages/x/actions',
      { ...json, 'Transfer-Encoding': 'chunked' },
      '11\r\n{"action":"save"}\r\n0\r\n\r\n',
    ),
    request('GET', '/api/messages', {
      ...auth,
      Expect: '100-continue',
      'Accept-Encoding': 'gzip, br',
    }),
    Buffer.concat([
      request('GET', '/healthz'),
      request('GET', '/api/session', auth),
      request('GET', '/'),
    ]),
    Buffer.from('GET /healthz HTTP/1.0\r\n\r\n'),
    Buffer.from('OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n'),
    request('GET', 'http://127.0.0.1/api/version'),
    request('GET', '/assets/../../etc/passwd'),
  ];
}

async function health(): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${server.ports.http}/healthz`, {
    signal: AbortSignal.timeout(10_000),
  });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: 'ok' });
}

describe('HTTP fuzzing (seeded; FUZZ_SEED replays)', () => {
  it(
    'survives thousands of mutated API requests and still answers /healthz',
    { timeout: 120_000 },
    async () => {
      const figures = await fuzz({
        name: 'http',
        server,
        seed,
        corpus: corpus(),
        port: server.ports.http,
        check: health,
        // Bad input is the client's fault: 4xx. A 5xx means a handler failed on it.
        inspect: (reply) => /^HTTP\/1\.[01] 5\d\d.*$/m.exec(reply)?.[0] ?? null,
      });
      expect(figures.inputs, `seed ${seed}`).toBeGreaterThanOrEqual(500);
      expect(server.exit, `seed ${seed}`).toBeNull();
      // Memory settles: what stays after a full GC is about what was there before.
      expect(figures.heapEndMB, `seed ${seed}: ${JSON.stringify(figures)}`).toBeLessThan(
        figures.heapStartMB + 32,
      );
      expect(figures.rssPeakMB, `seed ${seed}: ${JSON.stringify(figures)}`).toBeLessThan(
        RSS_LIMIT_MB,
      );
    },
  );
});
