/**
 * The load side of the web benchmark, in the benchmark's own process: timed GETs over node:http
 * or node:https (time to the first body byte and to the last), several clients sharing a bound,
 * and `wrk` for throughput without Node on the client side.
 */
import { spawn } from 'node:child_process';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';
import type { BenchOptions } from './bench-kit.ts';

const REQUEST_TIMEOUT_MS = 10_000;

/** Where requests go: one server, plain HTTP or HTTPS, on 127.0.0.1. */
export interface Endpoint {
  tls: boolean;
  port: number;
}

/** keep-alive: one connection per client, reused; new: a new connection (and, under TLS, a full handshake) per request. */
export type ConnectionMode = 'keep-alive' | 'new';

export function makeAgent(endpoint: Endpoint, mode: ConnectionMode, sockets = 1): HttpAgent {
  const keepAlive = mode === 'keep-alive';
  // No TLS session cache: a new connection is a first visit (full handshake) on both servers.
  return endpoint.tls
    ? new HttpsAgent({ keepAlive, maxSockets: sockets, maxCachedSessions: 0 })
    : new HttpAgent({ keepAlive, maxSockets: sockets });
}

export interface Timed {
  status: number;
  headers: IncomingMessage['headers'];
  /** From the call to the first body byte, and to the last (whole body read). */
  firstByteMs: number;
  lastByteMs: number;
  /** Until the connection was ready (TCP, or TLS handshake done); null on a reused one. */
  connectMs: number | null;
  bytes: number;
  body?: Buffer;
  /** The TLS version and cipher a new connection negotiated. */
  tls?: { protocol: string | null; cipher: string };
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Keep the body (for checks); otherwise only its length is counted. */
  keepBody?: boolean;
}

/** One request, timed from the call to the first and the last byte of the response body. */
export function timedRequest(
  endpoint: Endpoint,
  agent: HttpAgent,
  path: string,
  opts: RequestOptions = {},
): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let connectMs: number | null = null;
    let tls: Timed['tls'];
    const req = (endpoint.tls ? httpsRequest : httpRequest)({
      host: '127.0.0.1',
      port: endpoint.port,
      path,
      method: opts.method ?? 'GET',
      headers: opts.headers,
      agent,
      // The servers' certificate is self-signed, made by `voicegate init`.
      ...(endpoint.tls ? { rejectUnauthorized: false } : {}),
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`${path}: timed out`)));
    req.once('socket', (socket) => {
      if (!socket.connecting) return;
      socket.once(endpoint.tls ? 'secureConnect' : 'connect', () => {
        connectMs = performance.now() - t0;
        if (endpoint.tls) {
          const s = socket as TLSSocket;
          tls = { protocol: s.getProtocol(), cipher: s.getCipher().name };
        }
      });
    });
    req.once('error', reject);
    req.once('response', (res) => {
      let firstByteMs = NaN;
      let bytes = 0;
      const chunks: Buffer[] | null = opts.keepBody ? [] : null;
      res.on('data', (chunk: Buffer) => {
        if (bytes === 0) firstByteMs = performance.now() - t0;
        bytes += chunk.length;
        chunks?.push(chunk);
      });
      res.once('error', reject);
      res.once('end', () => {
        const lastByteMs = performance.now() - t0;
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          firstByteMs: bytes === 0 ? lastByteMs : firstByteMs,
          lastByteMs,
          connectMs,
          bytes,
          ...(chunks ? { body: Buffer.concat(chunks) } : {}),
          ...(tls ? { tls } : {}),
        });
      });
    });
    req.end(opts.body);
  });
}

export interface Run {
  timings: Timed[];
  seconds: number;
}

/**
 * `clients` loops sending one request after another until `bounds.maxOps` requests in all, or
 * `bounds.seconds` have passed. Every response must be 200 with `expectBytes` body bytes.
 */
export async function runClients(
  clients: number,
  bounds: BenchOptions,
  once: () => Promise<Timed>,
  expectBytes?: number,
): Promise<Run> {
  const timings: Timed[] = [];
  let claimed = 0;
  const start = performance.now();
  const deadline = start + bounds.seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline && claimed++ < bounds.maxOps) {
        const t = await once();
        check(t, expectBytes);
        timings.push(t);
      }
    }),
  );
  return { timings, seconds: (performance.now() - start) / 1000 };
}

/**
 * The same request to several servers in turn, one at a time, the order reversed every round
 * (A B, B A, A B...) so drift and "who goes first after the other" weigh on all alike.
 */
export async function interleave(
  rounds: BenchOptions,
  calls: (() => Promise<Timed>)[],
  expectBytes: number,
): Promise<Run[]> {
  const runs: Run[] = calls.map(() => ({ timings: [], seconds: 0 }));
  const deadline = performance.now() + rounds.seconds * 1000;
  for (let round = 0; round < rounds.maxOps && performance.now() < deadline; round++) {
    const order = calls.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      const t0 = performance.now();
      const t = await calls[i]!();
      runs[i]!.seconds += (performance.now() - t0) / 1000;
      check(t, expectBytes);
      runs[i]!.timings.push(t);
    }
  }
  return runs;
}

function check(t: Timed, expectBytes: number | undefined): void {
  if (t.status !== 200) throw new Error(`HTTP ${t.status} instead of 200`);
  if (expectBytes !== undefined && t.bytes !== expectBytes)
    throw new Error(`got ${t.bytes} body bytes instead of ${expectBytes}`);
}

export interface WrkResult {
  connections: number;
  seconds: number;
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx responses and socket errors: must be 0 for the figures to count. */
  errors: number;
}

function durationMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!m) return NaN;
  const scale = { us: 1e-3, ms: 1, s: 1e3, m: 6e4 }[m[2] as 'us' | 'ms' | 's' | 'm'];
  return Number(m[1]) * scale;
}

/** `wrk -t1 -cN -dS --latency` (one client thread: the server has the other core). */
export function runWrk(
  url: string,
  opts: { connections: number; seconds: number; headers?: Record<string, string> },
): Promise<WrkResult> {
  const args = [
    '-t1',
    `-c${opts.connections}`,
    `-d${opts.seconds}s`,
    '--latency',
    ...Object.entries(opts.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
    url,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const pct = (p: string): number =>
        durationMs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out)?.[1] ?? '');
      const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      if (code !== 0 || !Number.isFinite(rps)) {
        reject(new Error(`wrk ${args.join(' ')} failed (${code}):\n${out}`));
        return;
      }
      const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const socketErrors = (/Socket errors: (.*)/.exec(out)?.[1] ?? '')
        .split(',')
        .reduce((sum, part) => sum + Number(/(\d+)/.exec(part)?.[1] ?? 0), 0);
      resolve({
        connections: opts.connections,
        seconds: opts.seconds,
        requests,
        requestsPerSecond: rps,
        p50Ms: pct('50'),
        p99Ms: pct('99'),
        errors: non2xx + socketErrors,
      });
    });
  });
}

export function hasWrk(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('wrk', ['--version'], { stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('close', () => resolve(true));
  });
}
