/**
 * Bounded, seeded protocol fuzzing against `voicegate serve` in a child process: a crash is a
 * dead process the test sees, not a dead Vitest worker. Every input is generated from the seed
 * alone, before it is sent, so `FUZZ_SEED=<seed>` replays the same inputs in the same order.
 */
import { connect, type Socket } from 'node:net';
import type { FuzzServer } from './fuzz-server.ts';

/** The seed: FUZZ_SEED, else a random one (printed with every failure). */
export function fuzzSeed(): number {
  const given = process.env.FUZZ_SEED;
  return given ? Number(given) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}

/** mulberry32: small, fast, and the same sequence on every machine. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, a: readonly T[]): T => a[int(r, a.length)]!;

/** Values that break parsers: huge and negative lengths, bad UTF-8, control bytes, CRLF. */
const NASTY: readonly (string | Buffer)[] = [
  '{4294967295}\r\n',
  '{99999999999999999999}\r\n',
  '{-1}\r\n',
  '{0}\r\n',
  '{1048577}\r\n',
  '{10+}\r\n',
  '\r\n',
  '\n',
  '\r',
  '\r\n\r\n',
  '\0',
  '*',
  '0',
  '4294967296',
  '-1',
  '18446744073709551616',
  '"',
  '\\',
  '(',
  ')',
  '[',
  ']',
  '%',
  ' ',
  '\t',
  'A'.repeat(9000),
  '9'.repeat(400),
  Buffer.from([0xc3, 0x28]),
  Buffer.from([0xff, 0xfe, 0xfd]),
  Buffer.from([0xf0, 0x28, 0x8c, 0xbc]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xe2, 0x80, 0xa8]),
  Buffer.from([0x1b, 0x5b, 0x32, 0x4a]),
  '%00',
  '%ff%fe',
  '../../../../etc/passwd',
  'bytes=0-',
  'bytes=-0',
  'bytes=99999999999-',
  'bytes=0-1,2-3,4-5,6-7,8-9,10-11,12-13',
  'chunked',
  'Transfer-Encoding: chunked\r\n',
  'Content-Length: -1\r\n',
  'Content-Length: 99999999999\r\n',
  '=?utf-8?B?////?=',
  'boundary="',
  '\r\n.\r\n',
  '\r\n..\r\n',
];

function randomBytes(r: Rand, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = int(r, 256);
  return b;
}

type Mutator = (r: Rand, b: Buffer, corpus: readonly Buffer[]) => Buffer;

const MUTATORS: readonly Mutator[] = [
  // Byte flips.
  (r, b) => {
    const c = Buffer.from(b);
    for (let i = 0, n = 1 + int(r, 8); i < n && c.length; i++) {
      const at = int(r, c.length);
      c[at] = c[at]! ^ (1 << int(r, 8));
    }
    return c;
  },
  // A random byte.
  (r, b) => {
    const c = Buffer.from(b);
    if (c.length) c[int(r, c.length)] = int(r, 256);
    return c;
  },
  // Truncation.
  (r, b) => b.subarray(0, int(r, b.length + 1)),
  // Duplication of a slice, sometimes many times.
  (r, b) => {
    const start = int(r, b.length + 1);
    const slice = b.subarray(start, start + 1 + int(r, 200));
    const times = r() < 0.2 ? 50 + int(r, 500) : 1 + int(r, 3);
    return Buffer.concat([
      b.subarray(0, start),
      ...Array<Buffer>(times).fill(slice),
      b.subarray(start),
    ]);
  },
  // Deletion of a slice.
  (r, b) => {
    const start = int(r, b.length + 1);
    return Buffer.concat([b.subarray(0, start), b.subarray(start + 1 + int(r, 64))]);
  },
  // A nasty value inserted, or replacing a token.
  (r, b) => {
    const at = int(r, b.length + 1);
    const v = pick(r, NASTY);
    const skip = r() < 0.5 ? 0 : int(r, 12);
    return Buffer.concat([b.subarray(0, at), Buffer.from(v as string), b.subarray(at + skip)]);
  },
  // Digits replaced by a huge or zero number (lengths, sequence sets, sizes).
  (r, b) => {
    const text = b.toString('latin1');
    const matches = [...text.matchAll(/\d+/g)];
    if (matches.length === 0) return b;
    const m = pick(r, matches);
    const v = pick(r, ['0', '4294967295', '4294967296', '99999999999999999999', '-1', '00', '1e9']);
    return Buffer.from(text.slice(0, m.index) + v + text.slice(m.index! + m[0].length), 'latin1');
  },
  // Random bytes inserted.
  (r, b) => {
    const at = int(r, b.length + 1);
    return Buffer.concat([b.subarray(0, at), randomBytes(r, 1 + int(r, 32)), b.subarray(at)]);
  },
  // Splice with another session of the corpus.
  (r, b, corpus) => {
    const other = pick(r, corpus);
    return Buffer.concat([
      b.subarray(0, int(r, b.length + 1)),
      other.subarray(int(r, other.length + 1)),
    ]);
  },
  // A line's end removed or doubled (CRLF injection and line joining).
  (r, b) => {
    const text = b.toString('latin1');
    const ends = [...text.matchAll(/\r\n/g)];
    if (ends.length === 0) return b;
    const m = pick(r, ends);
    const v = pick(r, ['', '\n', '\r', '\r\n\r\n', '\r\r\n', ' \r\n']);
    return Buffer.from(text.slice(0, m.index) + v + text.slice(m.index! + 2), 'latin1');
  },
];

/** One mutated input: 1 to 4 mutations of a corpus session, capped at 256 KB. */
export function mutate(r: Rand, corpus: readonly Buffer[]): Buffer {
  let b = pick(r, corpus);
  for (let i = 0, n = 1 + int(r, 4); i < n; i++) b = pick(r, MUTATORS)(r, b, corpus);
  return b.length > 256 * 1024 ? b.subarray(0, 256 * 1024) : b;
}

/** How one input went: what came back, and whether the server closed or we gave up waiting. */
export interface SendResult {
  received: number;
  /** The first 64 KB of the reply, as latin1. */
  head: string;
  closedByServer: boolean;
}

/**
 * Connects, writes the input in a few pieces, half-closes, and waits for the server to close
 * (up to `capMs`, then drops the connection: a server may rightly wait for more).
 */
export function sendInput(
  port: number,
  input: Buffer,
  r: Rand,
  capMs = 1500,
  open: (port: number) => Socket = (p) => connect(p, '127.0.0.1'),
): Promise<SendResult> {
  return new Promise((resolve) => {
    const socket = open(port);
    let received = 0;
    let head = '';
    let done = false;
    const finish = (closedByServer: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(cap);
      socket.destroy();
      resolve({ received, head, closedByServer });
    };
    const cap = setTimeout(() => finish(false), capMs);
    socket.on('data', (d: Buffer) => {
      received += d.length;
      if (head.length < 65536) head += d.toString('latin1', 0, Math.min(d.length, 65536));
      // A server streaming without end (a big FETCH, events) has shown it is alive.
      if (received > 4 * 1024 * 1024) finish(false);
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.once('connect', () => {
      // Pieces split at random points, as a slow or odd client sends them.
      const cuts = [
        0,
        ...Array.from({ length: int(r, 3) }, () => int(r, input.length + 1)),
        input.length,
      ].sort((a, b) => a - b);
      for (let i = 1; i < cuts.length; i++) socket.write(input.subarray(cuts[i - 1], cuts[i]));
      socket.end();
    });
  });
}

/** Reads CRLF lines from a socket. */
export class LineReader {
  #buf = '';
  #waiters: (() => void)[] = [];
  #closed = false;
  constructor(socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.#buf += d.toString('latin1');
      for (const w of this.#waiters.splice(0)) w();
    });
    socket.on('close', () => {
      this.#closed = true;
      for (const w of this.#waiters.splice(0)) w();
    });
    socket.on('error', () => {});
  }

  /** The next line matching `re`, skipping others, or an error after `ms`. */
  async until(re: RegExp, ms = 10_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const lines = this.#buf.split('\r\n');
      for (let i = 0; i < lines.length - 1; i++) {
        if (re.test(lines[i]!)) {
          this.#buf = lines.slice(i + 1).join('\r\n');
          return lines[i]!;
        }
      }
      if (this.#closed)
        throw new Error(
          `connection closed before ${re}; got ${JSON.stringify(this.#buf.slice(-300))}`,
        );
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no line matching ${re} within ${ms} ms; got ${JSON.stringify(this.#buf.slice(-300))}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

export interface FuzzFigures {
  inputs: number;
  seconds: number;
  closedByServer: number;
  heldOpen: number;
  checks: number;
  rssStartMB: number;
  rssPeakMB: number;
  rssEndMB: number;
  /** After a full GC at the end: the heap in use at the start and at the end. */
  heapStartMB: number;
  heapEndMB: number;
}

export interface FuzzOptions {
  name: string;
  server: FuzzServer;
  seed: number;
  corpus: readonly Buffer[];
  port: number;
  /** A fresh, well-formed exchange that must succeed (login + NOOP, EHLO, GET /healthz). */
  check: () => Promise<void>;
  /** Time for the inputs (FUZZ_BUDGET_MS overrides), and the most inputs sent. */
  budgetMs?: number;
  maxInputs?: number;
  batch?: number;
  concurrency?: number;
  /** A reply that shows a fault though the server lives (an HTTP 500): what is wrong, or null. */
  inspect?: (reply: string) => string | null;
  /** What one input's worth of mutation is (by default `mutate`). */
  generate?: (r: Rand) => Buffer;
}

const show = (b: Buffer): string => JSON.stringify(b.subarray(0, 400).toString('latin1'));

/**
 * Sends batches of mutated inputs, and after each batch checks that the process lives and
 * answers a well-formed request. Fails with the seed, the batch and its inputs.
 */
export async function fuzz(o: FuzzOptions): Promise<FuzzFigures> {
  const budget = Number(process.env.FUZZ_BUDGET_MS ?? o.budgetMs ?? 25_000);
  const maxInputs = o.maxInputs ?? 4000;
  const batchSize = o.batch ?? 200;
  const concurrency = o.concurrency ?? 12;
  const r = rng(o.seed);
  const generate = o.generate ?? ((rr: Rand) => mutate(rr, o.corpus));
  const replay = `FUZZ_SEED=${o.seed} npx vitest run test/fuzz/${o.name}-fuzz.test.ts`;
  const fail = (what: string, batch: Buffer[], b: number): Error =>
    new Error(
      `${o.name} fuzz, seed ${o.seed} (replay: ${replay}), batch ${b} (inputs ${b * batchSize} to ${b * batchSize + batch.length - 1}): ${what}\n` +
        `server log tail:\n${o.server.logTail.slice(-3000)}\n` +
        `batch inputs (first 400 bytes each):\n${batch.map(show).join('\n')}`,
    );

  await o.check();
  const heapStartMB = (await o.server.settledMemory()).heapMB;
  const started = Date.now();
  const rssStartMB = o.server.rssMB();
  let rssPeakMB = rssStartMB;
  let inputs = 0;
  let closedByServer = 0;
  let heldOpen = 0;
  let checks = 0;
  const faults: string[] = [];
  for (let b = 0; inputs < maxInputs && Date.now() - started < budget; b++) {
    // The whole batch is generated before anything is sent: timing cannot change the inputs.
    const batch = Array.from({ length: Math.min(batchSize, maxInputs - inputs) }, () =>
      generate(r),
    );
    const splits = batch.map(() => rng((r() * 2 ** 32) >>> 0));
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < batch.length) {
          const i = next++;
          const res = await sendInput(o.port, batch[i]!, splits[i]!);
          if (res.closedByServer) closedByServer++;
          else heldOpen++;
          const fault = o.inspect?.(res.head);
          if (fault) faults.push(`input ${b * batchSize + i}: ${fault} for ${show(batch[i]!)}`);
        }
      }),
    );
    inputs += batch.length;
    if (faults.length) throw fail(`faulty replies:\n${faults.slice(0, 5).join('\n')}`, batch, b);
    if (o.server.exit) throw fail(`the server process ${o.server.exit}`, batch, b);
    rssPeakMB = Math.max(rssPeakMB, o.server.rssMB());
    try {
      await o.check();
      checks++;
    } catch (err) {
      throw fail(
        `no answer to a well-formed request after it: ${(err as Error).message}` +
          (o.server.exit ? ` (the server process ${o.server.exit})` : ''),
        batch,
        b,
      );
    }
  }
  const seconds = (Date.now() - started) / 1000;
  await o.check();
  const settled = await o.server.settledMemory();
  const rssEndMB = o.server.rssMB();
  const figures = {
    inputs,
    seconds,
    closedByServer,
    heldOpen,
    checks,
    rssStartMB: Math.round(rssStartMB),
    rssPeakMB: Math.round(Math.max(rssPeakMB, rssEndMB)),
    rssEndMB: Math.round(rssEndMB),
    heapStartMB,
    heapEndMB: settled.heapMB,
  };
  console.log(`${o.name} fuzz, seed ${o.seed}: ${JSON.stringify(figures)}`);
  return figures;
}
