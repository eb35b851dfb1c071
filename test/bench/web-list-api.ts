/**
 * The web list's API against `voicegate serve` as it runs: the first page (GET /api/messages,
 * 50 newest, brotli) interleaved with GET /api/session (the yardstick: a trivial authenticated
 * answer), so both see the same machine; then each alone, for the server's CPU per request
 * (/proc, all its threads); and each request over SLOW_MS matched with what the server was
 * doing then (pause-probe.ts: its garbage collections and its own time for the request).
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { sleep } from './bench-kit.ts';
import type { PauseReading } from './pause-probe.ts';
import type { ServerProcess } from './web-servers.ts';

export const PAGE_PATH = '/api/messages?limit=50';
export const SESSION_PATH = '/api/session';
/** The target: a first page's p99 under this; every request over it is explained. */
export const SLOW_MS = 20;

export interface Sample {
  /** When the request was made (ms since the epoch) and how long until its body was read. */
  at: number;
  ms: number;
}

export interface SlowRequest {
  path: string;
  ms: number;
  /** The server's own time for it (from its request's start to its answer's end), if seen. */
  serverMs: number | null;
  /** Collections overlapping it: kind and ms each. */
  gc: string[];
}

export interface ApiResult {
  page: Sample[];
  session: Sample[];
  /** Server CPU ms per request, each path asked alone `cpuRequests` times. */
  cpuMsPerPage: number;
  cpuMsPerSession: number;
  /** Collections during the interleaved run: count and total ms by kind, and the longest. */
  gcSummary: { kind: string; count: number; totalMs: number; maxMs: number }[];
  slow: SlowRequest[];
  loadAverages: number[];
}

async function timed(url: string, headers: Record<string, string>): Promise<Sample> {
  const at = performance.timeOrigin + performance.now();
  const start = performance.now();
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return { at, ms: performance.now() - start };
}

/** The probe's reading so far: it writes its file on SIGUSR2. */
async function readProbe(server: ServerProcess, file: string): Promise<PauseReading> {
  const before = Date.now();
  process.kill(server.pid, 'SIGUSR2');
  for (;;) {
    try {
      const reading = JSON.parse(readFileSync(file, 'utf8')) as PauseReading & { written: number };
      if (reading.written >= before) return reading;
    } catch {
      // Not written yet, or half written.
    }
    await sleep(20);
  }
}

function explain(path: string, s: Sample, probe: PauseReading): SlowRequest {
  const end = s.at + s.ms;
  const served = probe.http.find((h) => h.url === path && h.at >= s.at && h.at < end);
  const gc = probe.gc
    .filter((g) => g.at < end && g.at + g.ms > s.at)
    .map((g) => `${g.kind} ${g.ms.toFixed(1)} ms`);
  return { path, ms: s.ms, serverMs: served ? served.ms : null, gc };
}

/** The slow requests of `path` by what coincided with them, as one line. */
export function slowCauses(slow: SlowRequest[], path: string): string {
  const of = slow.filter((r) => r.path === path);
  const full = of.filter((r) => r.gc.some((g) => !g.startsWith('scavenge'))).length;
  const scavenge = of.filter(
    (r) => r.gc.length > 0 && r.gc.every((g) => g.startsWith('scavenge')),
  ).length;
  const none = of.filter((r) => r.gc.length === 0);
  const quick = none.filter((r) => r.serverMs !== null && r.serverMs < 10).length;
  return `${path}: ${of.length} over ${SLOW_MS} ms; ${full} with a full collection (or its marking), ${scavenge} with a scavenge only, ${none.length} with none (of them ${quick} took the server under 10 ms)`;
}

export async function measureApi(opts: {
  base: string;
  headers: Record<string, string>;
  server: ServerProcess;
  probeFile: string;
  requests: number;
  warmUp: number;
}): Promise<ApiResult> {
  const { base, headers, server, probeFile } = opts;
  const page: Sample[] = [];
  const session: Sample[] = [];
  const loadAverages: number[] = [];
  for (let i = 0; i < opts.warmUp + opts.requests; i++) {
    const p = await timed(base + PAGE_PATH, headers);
    const s = await timed(base + SESSION_PATH, headers);
    if (i % 50 === 0) loadAverages.push(loadavg()[0]!);
    if (i < opts.warmUp) continue;
    page.push(p);
    session.push(s);
  }
  const probe = await readProbe(server, probeFile);
  const from = page[0]!.at;
  const inRun = probe.gc.filter((g) => g.at >= from);
  const kinds = [...new Set(inRun.map((g) => g.kind))];
  const gcSummary = kinds.map((kind) => {
    const ms = inRun.filter((g) => g.kind === kind).map((g) => g.ms);
    return {
      kind,
      count: ms.length,
      totalMs: ms.reduce((a, b) => a + b, 0),
      maxMs: Math.max(...ms),
    };
  });
  const slow = [
    ...page.filter((s) => s.ms > SLOW_MS).map((s) => explain(PAGE_PATH, s, probe)),
    ...session.filter((s) => s.ms > SLOW_MS).map((s) => explain(SESSION_PATH, s, probe)),
  ];
  const cpuPer = async (path: string): Promise<number> => {
    const before = server.cpuMs();
    for (let i = 0; i < opts.requests; i++) await timed(base + path, headers);
    return (server.cpuMs() - before) / opts.requests;
  };
  const cpuMsPerPage = await cpuPer(PAGE_PATH);
  const cpuMsPerSession = await cpuPer(SESSION_PATH);
  return { page, session, cpuMsPerPage, cpuMsPerSession, gcSummary, slow, loadAverages };
}
