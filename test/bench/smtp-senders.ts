/**
 * The load of the smtp benchmark, all in the benchmark's process: inbound senders (one SMTP
 * connection each, kept open, writing a mail composed once: smtp-client.ts), deposits straight
 * through `ctx.messages.deposit`, and the nodemailer yardstick of the outbound side. Each runs N
 * workers on a shared budget of seconds and operations, as deposit.ts does, and times every
 * operation.
 */
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Context } from '../../server/context.ts';
import type { BenchOptions } from './bench-kit.ts';
import { SmtpClient, toWire, type SmtpEndpoint, type WireMail } from './smtp-client.ts';

export type { SmtpEndpoint };

export interface Timed {
  ops: number;
  seconds: number;
  latenciesMs: number[];
  /** Operations per worker. */
  perWorker: number[];
  /** This process's CPU (user + system, all threads) over the run, ms. */
  cpuMs: number;
  /** Share of the run this process's main thread was busy. */
  eventLoopUtilization: number;
}

/** `workers` loops calling `op(worker)` until the time or the operations run out. */
export async function runWorkers(
  workers: number,
  bounds: BenchOptions,
  op: (worker: number) => Promise<unknown>,
): Promise<Timed> {
  const latenciesMs: number[] = [];
  const perWorker = new Array<number>(workers).fill(0);
  let claimed = 0;
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const deadline = start + bounds.seconds * 1000;
  await Promise.all(
    Array.from({ length: workers }, async (_, i) => {
      while (performance.now() < deadline && claimed++ < bounds.maxOps) {
        const t0 = performance.now();
        await op(i);
        latenciesMs.push(performance.now() - t0);
        perWorker[i]!++;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    ops: latenciesMs.length,
    seconds,
    latenciesMs,
    perWorker,
    cpuMs: (cpu.user + cpu.system) / 1000,
    eventLoopUtilization: performance.eventLoopUtilization(elu0).utilization,
  };
}

export interface Mail {
  from: string;
  to: string;
  raw: Buffer;
}

/** Each mail sent gets a Message-ID of its own, or the server rightly stores it once. */
const ID_PLACEHOLDER = '0'.repeat(24);
let mailsSent = 0;

function ownMessageId(): Buffer {
  return Buffer.from(
    String(++mailsSent).padStart(12, '0') + String(process.pid).padStart(12, '0'),
    'latin1',
  );
}

function withOwnMessageId(raw: Buffer): Buffer {
  const at = raw.indexOf(ID_PLACEHOLDER);
  if (at === -1) return raw;
  const copy = Buffer.from(raw);
  ownMessageId().copy(copy, at);
  return copy;
}

/**
 * A voicemail as a PBX or a unified-messaging gateway would mail it: a short text part, the WAV
 * attached as audio/wav (base64), the caller in the Exchange voice header.
 */
export async function composeVoicemail(
  to: string,
  caller: string,
  audio: Uint8Array,
): Promise<Mail> {
  const from = `${caller}@pbx.bench.example`;
  const raw = await new MailComposer({
    from: { name: 'Bench caller', address: from },
    to,
    subject: `Voicemail from ${caller}`,
    messageId: `<${ID_PLACEHOLDER}@pbx.bench.example>`,
    headers: { 'X-CallingTelephoneNumber': caller },
    text: 'A voicemail is attached.',
    attachments: [
      {
        filename: 'voicemail.wav',
        contentType: 'audio/wav',
        content: Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength),
      },
    ],
  })
    .compile()
    .build();
  return { from, to, raw };
}

function transportOptions(endpoint: SmtpEndpoint) {
  return {
    host: '127.0.0.1',
    port: endpoint.port,
    name: 'pbx.bench.example',
    secure: false,
    ignoreTLS: !endpoint.tls,
    requireTLS: endpoint.tls,
    tls: endpoint.tls ? { ca: endpoint.ca, minVersion: 'TLSv1.2' as const } : undefined,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  };
}

/** One sender: a single SMTP connection, opened by the first mail and kept for the rest. */
function pooledSender(endpoint: SmtpEndpoint) {
  return nodemailer.createTransport({
    ...transportOptions(endpoint),
    pool: true,
    maxConnections: 1,
    maxMessages: Infinity,
  });
}

async function send(
  transport: ReturnType<typeof pooledSender> | ReturnType<typeof nodemailer.createTransport>,
  mail: Mail,
): Promise<void> {
  const info = await transport.sendMail({
    envelope: { from: mail.from, to: [mail.to] },
    raw: withOwnMessageId(mail.raw),
  });
  if (!/^250\b/.test(info.response)) throw new Error(`unexpected reply: ${info.response}`);
}

/** One inbound sender: a connection opened by its first mail and kept for the rest. */
class Sender {
  readonly #endpoint: SmtpEndpoint;
  readonly #mail: WireMail;
  /** Where the Message-ID placeholder lies in the composed mail. */
  readonly #idAt: number;
  #client: Promise<SmtpClient> | null = null;

  constructor(endpoint: SmtpEndpoint, mail: Mail) {
    this.#endpoint = endpoint;
    this.#mail = { from: mail.from, to: mail.to, data: toWire(mail.raw) };
    this.#idAt = this.#mail.data.indexOf(ID_PLACEHOLDER);
  }

  async send(): Promise<void> {
    this.#client ??= SmtpClient.open(this.#endpoint);
    const client = await this.#client;
    await client.send(
      this.#mail,
      this.#idAt === -1 ? undefined : { at: this.#idAt, bytes: ownMessageId() },
    );
  }

  close(): void {
    void this.#client?.then((c) => c.close()).catch(() => {});
  }
}

/**
 * One sender per mail, sender i always sending mails[i] over a connection of its own, opened by
 * its first mail and kept. A level of n senders uses the first n. A mail counts once its 250
 * has arrived; any other reply fails the run.
 */
export function openSenders(endpoint: SmtpEndpoint, mails: Mail[]) {
  const senders = mails.map((mail) => new Sender(endpoint, mail));
  return {
    /** `count` untimed mails from each of the first n senders (connection, STARTTLS). */
    warmUp: (n: number, count: number): Promise<unknown> =>
      Promise.all(
        senders.slice(0, n).map(async (s) => {
          for (let k = 0; k < count; k++) await s.send();
        }),
      ),
    run: (n: number, bounds: BenchOptions): Promise<Timed> =>
      runWorkers(n, bounds, (i) => senders[i]!.send()),
    close: (): void => {
      for (const s of senders) s.close();
    },
  };
}

/** Deposits through the domain, depositor i into mailboxes[i], after `warmUp` untimed each. */
export async function depositConcurrently(
  ctx: Context,
  mailboxes: string[],
  audio: Uint8Array,
  bounds: BenchOptions,
  warmUp: number,
): Promise<Timed> {
  const deposit = (i: number): Promise<unknown> =>
    ctx.messages.deposit({
      mailbox: mailboxes[i]!,
      audio,
      callerNumber: '+15550100',
      callerName: 'Bench',
    });
  await Promise.all(
    mailboxes.map(async (_, i) => {
      for (let k = 0; k < warmUp; k++) await deposit(i);
    }),
  );
  return runWorkers(mailboxes.length, bounds, deposit);
}

/**
 * The outbound yardstick: `count` mails one after another, as Voicegate's outbox sends them,
 * either each over a connection of its own (Voicegate's way: a transport per mail) or all over
 * one kept-open connection.
 */
export async function sendSequentially(
  endpoint: SmtpEndpoint,
  mail: Mail,
  bounds: BenchOptions,
  connection: 'new' | 'pooled',
): Promise<Timed> {
  if (connection === 'new') {
    return runWorkers(1, bounds, async () => {
      const transport = nodemailer.createTransport(transportOptions(endpoint));
      try {
        await send(transport, mail);
      } finally {
        transport.close();
      }
    });
  }
  const transport = pooledSender(endpoint);
  try {
    return await runWorkers(1, bounds, () => send(transport, mail));
  } finally {
    transport.close();
  }
}
