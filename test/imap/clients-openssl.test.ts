import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { explain, run, type RunResult } from './fixtures/clients-run.ts';

let server: TestServer;
let cert: string;
beforeAll(async () => {
  server = await startTestServer();
  cert = join(server.dir, 'tls', 'cert.pem');
});
afterAll(async () => server?.stop());

type Port = 'imaps' | 'starttls';

/**
 * `openssl s_client` against one of the two ports, sending `input` (LF line ends, sent as CRLF)
 * once the session is up. -ign_eof keeps it reading until the server closes, so the replies
 * are in stdout.
 */
function sClient(port: Port, input: string, ...args: string[]): Promise<RunResult> {
  const target =
    port === 'imaps'
      ? ['-connect', `127.0.0.1:${server.ports.imaps}`]
      : ['-connect', `127.0.0.1:${server.ports.imap}`, '-starttls', 'imap'];
  return run(
    'openssl',
    ['s_client', ...target, '-servername', 'localhost', '-crlf', '-ign_eof', ...args],
    { input },
  );
}

/** A verified session: the server proved it holds the key of the certificate in `cert`. */
async function verified(port: Port, input: string, ...args: string[]): Promise<RunResult> {
  const r = await sClient(port, input, '-CAfile', cert, '-verify_return_error', ...args);
  expect(r.code, explain(r)).toBe(0);
  expect(r.stdout, explain(r)).toMatch(/Verify return code: 0 \(ok\)/);
  return r;
}

async function fingerprint(pem: string): Promise<string> {
  const r = await run('openssl', ['x509', '-noout', '-fingerprint', '-sha256'], { input: pem });
  expect(r.code, explain(r)).toBe(0);
  expect(r.stdout).toMatch(/Fingerprint=([0-9A-F]{2}:){31}[0-9A-F]{2}/);
  return r.stdout.trim();
}

describe('openssl s_client', () => {
  it('is shown the server certificate on both ports', async () => {
    const expected = await fingerprint(readFileSync(cert, 'utf8'));
    for (const port of ['imaps', 'starttls'] as const) {
      const r = await verified(port, 'a LOGOUT\n');
      const presented = /-----BEGIN CERTIFICATE-----[^]*?-----END CERTIFICATE-----/.exec(r.stdout);
      expect(presented, explain(r)).not.toBeNull();
      expect(await fingerprint(presented![0])).toBe(expected);
    }
  });

  it.each([
    ['-tls1_2', 'TLSv1.2'],
    ['-tls1_3', 'TLSv1.3'],
  ])('connects with %s on the implicit TLS port, greeted by Voicegate', async (flag, version) => {
    const r = await verified('imaps', 'a LOGOUT\n', flag);
    expect(r.stdout).toMatch(new RegExp(`Protocol\\s*: ${version.replace('.', '\\.')}`));
    expect(r.stdout).toMatch(/^\* OK Voicegate ready/m);
    expect(r.stdout).toMatch(/^a OK/m);
  });

  it('upgrades the plain port with -starttls imap, and the server names itself Voicegate', async () => {
    const r = await verified('starttls', 'a ID NIL\nb LOGOUT\n');
    expect(r.stdout).toMatch(/^\* ID \("name" "Voicegate"/m);
    expect(r.stdout).toMatch(/^a OK/m);
  });

  it.each(['imaps', 'starttls'] as const)(
    'on %s, the server refuses TLS 1.1 with a protocol_version alert',
    async (port) => {
      // SECLEVEL=0 lets Debian's openssl offer TLS 1.1 at all: the refusal must be the server's.
      const r = await sClient(port, 'a LOGOUT\n', '-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0');
      expect(r.code, explain(r)).not.toBe(0);
      // A received alert (number 70, protocol_version), not "no protocols available" (client-side).
      expect(r.stderr, explain(r)).toMatch(/alert protocol version.*SSL alert number 70/);
      expect(r.stdout).not.toMatch(/^\* OK/m);
    },
  );

  // Regression (fixed): imap-core reports connection errors (here: a refused handshake) through WildDuck's
  // lib/errors.js, whose default handler prints a multi-line "ERR! Gelf { … }" to stderr with
  // npmlog, whatever log.level says (the test server runs with log.level=silent).
  it('logs a refused handshake through the server log, not as "ERR! Gelf" on stderr', async () => {
    const writes: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
      writes.push(String(chunk));
      return true;
    });
    try {
      await sClient('imaps', '', '-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0');
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      spy.mockRestore();
    }
    expect(writes.join('')).not.toMatch(/Gelf/);
  });
});
