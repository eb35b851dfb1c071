import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { generate } from 'selfsigned';
import type { MessageInfo } from '../../server/http/schemas.ts';
import { soxWav } from '../helpers/sox.ts';
import type { TestServer } from '../helpers/test-server.ts';

/** A self-signed certificate for 127.0.0.1, and the PEM file a client trusts it with. */
export async function makeCert(
  dir: string,
  name = 'ca',
): Promise<{ key: string; cert: string; caFile: string }> {
  const now = new Date();
  const pems = await generate([{ name: 'commonName', value: 'mx.test.example' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  const caFile = join(dir, `${name}.pem`);
  writeFileSync(caFile, pems.cert);
  return { key: pems.private, cert: pems.cert, caFile };
}

/** A real WAV made by sox: `seconds` of a tone at 8 kHz. */
export function wav(dir: string, seconds = 2, name = 'in.wav'): Buffer {
  return readFileSync(soxWav(join(dir, name), seconds));
}

/** One `mail.servers` entry per object, as a `--set` override (JSON is YAML flow syntax). */
export function mailServers(servers: Record<string, unknown>[]): string {
  return `mail.servers=${JSON.stringify(servers.map((s) => ({ host: '127.0.0.1', ...s })))}`;
}

type Falsy = false | null | undefined | 0 | '';

/** Polls `check` until it returns something truthy (which it returns), for at most `ms`. */
export async function until<T>(
  check: () => T | Falsy | Promise<T | Falsy>,
  ms = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function parse(raw: Buffer): Promise<ParsedMail> {
  return simpleParser(raw);
}

/** The first address of a To or From field. */
export function firstAddress(field: AddressObject | AddressObject[] | undefined): {
  name: string;
  address: string;
} {
  const obj = Array.isArray(field) ? field[0] : field;
  const v = obj?.value[0];
  return { name: v?.name ?? '', address: v?.address ?? '' };
}

export interface WebSession {
  cookie: string;
  csrf: string;
}

/** Logs in to the web API as a user would (POST /api/login). */
export async function webLogin(
  server: TestServer,
  mailbox: string,
  code: string,
): Promise<WebSession> {
  const res = await server.http.inject({
    method: 'POST',
    url: '/api/login',
    payload: { mailbox, code },
  });
  if (res.statusCode !== 200) throw new Error(`login as ${mailbox}: ${res.statusCode}`);
  const cookie = res.cookies.find((c) => c.name === 'vg_session')!;
  return {
    cookie: `vg_session=${cookie.value}`,
    csrf: (res.json() as { csrfToken: string }).csrfToken,
  };
}

/** The inbox as the web app fetches it: its status, ETag and messages. */
export async function webInbox(
  server: TestServer,
  session: WebSession,
  etag?: string,
): Promise<{ status: number; etag: string; messages: MessageInfo[] }> {
  const res = await server.http.inject({
    method: 'GET',
    url: '/api/messages',
    headers: { cookie: session.cookie, ...(etag ? { 'if-none-match': etag } : {}) },
  });
  const messages =
    res.statusCode === 200 ? (res.json() as { messages: MessageInfo[] }).messages : [];
  return { status: res.statusCode, etag: res.headers.etag as string, messages };
}
