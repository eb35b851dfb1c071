import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { Message } from '../../server/domain/message.ts';
import { explain, run, type RunResult } from '../imap/fixtures/clients-run.ts';
import type { TestServer } from '../helpers/test-server.ts';

export { explain };

export interface SwaksResult extends RunResult {
  /** The server's reply lines as swaks printed them, without swaks' markers. */
  replies: string[];
}

/** The files a test hands to swaks live here. */
export const tmp = mkdtempSync(join(tmpdir(), 'voicegate-smtp-in-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

export function file(name: string, bytes: Uint8Array | string): string {
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  return path;
}

/**
 * swaks (the real program; missing, it fails the test) sending to the server's SMTP listener.
 * swaks exits 0 when the mail was accepted, 24 when no recipient was, 26 when DATA was refused.
 */
export async function swaks(server: TestServer, args: string[]): Promise<SwaksResult> {
  const r = await run(
    'swaks',
    ['--server', `127.0.0.1:${server.ports.smtp}`, '--timeout', '10', ...args],
    { timeoutMs: 20_000 },
  );
  if (/TLS not available/.test(r.stdout + r.stderr))
    throw new Error('swaks has no TLS: apt-get install libnet-ssleay-perl');
  const replies = r.stdout
    .split('\n')
    .filter((l) => /^ *<[-~*]/.test(l))
    .map((l) => l.replace(/^ *<\S* +/, ''));
  return { ...r, replies };
}

/** swaks with a WAV attached as audio/wav and the Exchange caller header. */
export function sendWav(
  server: TestServer,
  to: string,
  wavPath: string,
  caller: string,
  extra: string[] = [],
): Promise<SwaksResult> {
  return swaks(server, [
    '--to',
    to,
    '--attach-type',
    'audio/wav',
    '--attach',
    `@${wavPath}`,
    '--header',
    `X-CallingTelephoneNumber: ${caller}`,
    ...extra,
  ]);
}

/** Every stored message from this caller, with the name of the mailbox that holds it. */
export async function messagesFrom(
  server: TestServer,
  caller: string,
): Promise<{ mailbox: string; message: Message }[]> {
  const found: { mailbox: string; message: Message }[] = [];
  for (const mailbox of await server.context.mailboxes.list()) {
    for (const message of await server.context.messages.list(mailbox.id)) {
      if (message.callerNumber === caller) found.push({ mailbox: mailbox.name, message });
    }
  }
  return found;
}

/** The stored audio of a message, byte for byte. */
export function storedAudio(server: TestServer, message: Message): Promise<Buffer> {
  return server.context.audio.read(message.audio.key);
}
