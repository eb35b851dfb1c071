/**
 * Shared pieces of the SIPp suites: scenario paths, what a mailbox lists right now, SIPp's
 * message trace (what it received, and when), and an OPTIONS probe over a raw UDP socket.
 */
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Message } from '../../server/domain/message.ts';
import type { TestServer } from '../helpers/test-server.ts';

export function scenario(name: string): string {
  return fileURLToPath(new URL(`./scenarios/${name}`, import.meta.url));
}

/** A mailbox's messages as listed right now: no waiting, so only what is already durable. */
export async function listed(server: TestServer, mailbox: string): Promise<Message[]> {
  const { mailboxes, messages } = server.context;
  return messages.list((await mailboxes.resolve(mailbox)).id);
}

export interface TracedMessage {
  /** When SIPp logged it (its clock is ours: same machine). */
  at: number;
  direction: 'sent' | 'received';
  text: string;
}

/**
 * SIPp's `-trace_msg` log in a file of our own: pass `trace.args` to runSipp, then read what
 * SIPp sent and received so far with `trace.messages()`.
 */
export function sippTrace(): { args: string[]; messages(): TracedMessage[] } {
  const file = join(mkdtempSync(join(tmpdir(), 'vg-sipp-trace-')), 'messages.log');
  return {
    args: ['-trace_msg', '-message_file', file],
    messages() {
      if (!existsSync(file)) return [];
      const parts = readFileSync(file, 'latin1').split(
        /^-{20,} (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d+)\r?\n/m,
      );
      const out: TracedMessage[] = [];
      for (let i = 1; i + 2 < parts.length; i += 3) {
        const body = parts[i + 2] ?? '';
        // Local time, as SIPp prints it; Date parses a date-time without an offset as local.
        const at = new Date(`${parts[i]}T${parts[i + 1]!.slice(0, 12)}`).getTime();
        const direction = /^\S+ message sent/.test(body) ? 'sent' : 'received';
        out.push({ at, direction, text: body });
      }
      return out;
    },
  };
}

/** Waits until SIPp has received a message matching `re`; returns it. */
export async function received(
  trace: { messages(): TracedMessage[] },
  re: RegExp,
  timeoutMs = 10_000,
): Promise<TracedMessage> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = trace.messages().find((m) => m.direction === 'received' && re.test(m.text));
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`SIPp did not receive ${re} in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sends raw datagrams to the server's SIP port from one socket; resolves when all are sent. */
export async function sendDatagrams(port: number, datagrams: (string | Buffer)[]): Promise<void> {
  const socket = createSocket('udp4');
  try {
    for (const d of datagrams) {
      await new Promise<void>((resolve, reject) =>
        socket.send(d, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
      );
    }
  } finally {
    socket.close();
  }
}

/** An OPTIONS over UDP from a fresh socket: the status line of the answer, or null on timeout. */
export async function options(port: number, timeoutMs = 3000): Promise<string | null> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const local = socket.address().port;
  const branch = `z9hG4bK-probe-${Math.random().toString(36).slice(2)}`;
  const request = [
    `OPTIONS sip:201@127.0.0.1:${port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=${branch}`,
    `From: <sip:probe@127.0.0.1:${local}>;tag=probe`,
    `To: <sip:201@127.0.0.1:${port}>`,
    `Call-ID: ${branch}@127.0.0.1`,
    'CSeq: 1 OPTIONS',
    'Max-Forwards: 70',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  try {
    return await new Promise<string | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      socket.on('message', (msg) => {
        const text = msg.toString('latin1');
        if (!text.includes(branch)) return;
        clearTimeout(timer);
        resolve(text.split('\r\n')[0] ?? '');
      });
      socket.send(request, port, '127.0.0.1');
    });
  } finally {
    socket.close();
  }
}
