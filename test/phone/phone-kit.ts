import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseWav, toPcm16 } from '../../server/media/wav.ts';
import type { Message } from '../../server/domain/message.ts';
import { startTestServer, type TestServer, type WatchedServer } from '../helpers/test-server.ts';

/** The SIP passwords of the phones of 201 (alice) and 202 (bob). */
export const SIP_PASSWORDS = { alice: 'alice-phone-201', bob: 'bob-phone-202' } as const;

/**
 * A server with mailboxes 201 (alice) and 202 (bob), each with SIP credentials, and a 440 Hz
 * greeting on alice. 127.0.0.1 is no trusted peer unless `sets` says so
 * (`sip.trustedPeers=["127.0.0.1/32"]`). Its log is watched (`server.logs`): tests type keys once
 * the call is `collecting keys` for the menu they answer.
 */
export async function phoneServer(sets: string[] = []): Promise<WatchedServer> {
  // baresip 1.0 (libre 1.1) fails on a SHA-256 challenge instead of skipping it: MD5 alone.
  const server = await startTestServer(
    ['policy.minMessageSeconds=1', 'sip.digestAlgorithms=[MD5]', ...sets],
    { watchLogs: true },
  );
  const { mailboxes, messages } = server.context;
  await mailboxes.add({ name: 'alice', extension: '201', timeZone: 'Europe/Paris' }, '1234');
  await mailboxes.add({ name: 'bob', extension: '202', timeZone: 'America/New_York' }, '2345');
  const config = server.context.loaded.config;
  const realm = config.sip.realm || config.server.domain;
  await mailboxes.setSipPassword('alice', SIP_PASSWORDS.alice, realm);
  await mailboxes.setSipPassword('bob', SIP_PASSWORDS.bob, realm);
  await messages.setGreeting('alice', 'unavailable', wavFile(server.dir, 'greeting', 440, 2));
  return server;
}

/** A deterministic sine WAV (8 kHz mono 16-bit) made with sox; `padBefore` seconds of silence first. */
export function toneFile(
  dir: string,
  name: string,
  frequency: number,
  seconds: number,
  padBefore = 0,
  padAfter = 0,
): string {
  const path = join(dir, `${name}.wav`);
  execFileSync('sox', [
    '-R',
    '-n',
    '-r',
    '8000',
    '-c',
    '1',
    '-b',
    '16',
    '-e',
    'signed-integer',
    path,
    'synth',
    String(seconds),
    'sine',
    String(frequency),
    'vol',
    '0.5',
    'pad',
    String(padBefore),
    String(padAfter),
  ]);
  return path;
}

export function wavFile(dir: string, name: string, frequency: number, seconds: number): Uint8Array {
  return readFileSync(toneFile(dir, name, frequency, seconds));
}

export function samplesOf(bytes: Uint8Array): Int16Array {
  return toPcm16(parseWav(bytes));
}

/** Waits until `mailbox` holds `count` messages (the deposit is durable once listed). */
export async function waitForMessages(
  server: TestServer,
  mailbox: string,
  count: number,
  timeoutMs = 20_000,
): Promise<Message[]> {
  const { mailboxes, messages } = server.context;
  const id = (await mailboxes.resolve(mailbox)).id;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = await messages.list(id);
    if (list.length >= count) return list;
    if (Date.now() > deadline)
      throw new Error(`${mailbox} has ${list.length} messages, expected ${count}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The loudest window's share of energy at `frequency` (where a tone sits in a longer recording). */
export function bestToneRatio(
  samples: Int16Array,
  frequency: number,
  ratio: (s: Int16Array, f: number) => number,
): number {
  let best = 0;
  for (let start = 0; start + 4000 <= samples.length; start += 2000) {
    best = Math.max(best, ratio(samples.subarray(start, start + 4000), frequency));
  }
  return best;
}

export interface WebSession {
  /** A JSON request with the session cookie (and the CSRF header on changes). */
  call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response>;
}

/** Logs in to the web API over real HTTP (the server needs `http.tls=false`). */
export async function webLogin(
  server: TestServer,
  mailbox: string,
  code: string,
): Promise<WebSession> {
  const res = await fetch(`${server.urls.http}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mailbox, code }),
  });
  if (res.status !== 200) throw new Error(`web login failed: ${res.status} ${await res.text()}`);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return {
    call: (method, path, body) =>
      fetch(`${server.urls.http}${path}`, {
        method,
        headers: {
          cookie,
          ...(method === 'GET' ? {} : { 'x-csrf-token': csrfToken }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
  };
}

/** Resolves once `check` holds, polling; fails after `timeoutMs` with `what`. */
export async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
