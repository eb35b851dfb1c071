/**
 * The web benchmark's figures: their types, the targets of the issue, the tables (terminal and
 * Markdown) and results/web.md.
 */
import { cpus } from 'node:os';
import {
  fixed,
  machine,
  markdownTable,
  textTable,
  writeResult,
  type BenchOptions,
  type Table,
} from './bench-kit.ts';
import type { ConnectionMode, WrkResult } from './web-client.ts';
import { NGINX_WORKERS, type PreparedStore } from './web-servers.ts';

/** The targets: list p99 under 20 ms; first audio byte within 1.5 times nginx's. */
export const LIST_P99_TARGET_MS = 20;
export const FIRST_BYTE_RATIO_TARGET = 1.5;
/** More than this many cores used by others during a run is worth a warning. */
const OTHERS_NOISY_CORES = 0.2;

/** Milliseconds. */
export interface Spread {
  p50: number;
  p99: number;
}

export interface ListRun {
  client: 'node' | 'wrk';
  clients: number;
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  /** Request to the last byte of the JSON. */
  latency: Spread;
  firstByte: Spread | null;
  /** Voicegate's own CPU (all threads, from /proc) per request. */
  serverCpuMsPerRequest: number | null;
}

export interface AudioSide {
  requests: number;
  firstByte: Spread;
  lastByte: Spread;
  /** TCP connect, or TCP + TLS handshake; null on reused connections. */
  connect: Spread | null;
  tls: { protocol: string | null; cipher: string } | null;
  serverCpuMsPerRequest: number;
}

export interface AudioRun {
  connection: ConnectionMode;
  voicegate: AudioSide;
  nginx: AudioSide;
}

/** The machine while one protocol was measured; cores are averages over `seconds`. */
export interface MachineLoad {
  seconds: number;
  busyCores: number;
  /** Busy, but not this benchmark, its children or the two servers. */
  othersCores: number;
  /** The 1-minute load average at the end. */
  loadAverage: number;
}

export interface ProtocolRun {
  scheme: 'https' | 'http';
  machine: MachineLoad;
  listBytes: number;
  list: ListRun[];
  audio: AudioRun[];
  wrk: { list: WrkResult; audioVoicegate: WrkResult; audioNginx: WrkResult } | null;
}

export interface Bounds {
  listRequests: number;
  listWarmUp: number;
  audioRequests: number;
  audioWarmUp: number;
  wrk: { connections: number; seconds: number } | null;
}

export interface Results {
  opts: BenchOptions;
  store: PreparedStore;
  nginx: { version: string; installed: boolean };
  protocols: ProtocolRun[];
  bounds: Bounds;
}

const mark = (ok: boolean): string => (ok ? 'pass' : 'MISS');

function listRows(p: ProtocolRun): ListRun[] {
  if (!p.wrk) return p.list;
  const w = p.wrk.list;
  return [
    ...p.list,
    {
      client: 'wrk',
      clients: w.connections,
      requests: w.requests,
      seconds: w.seconds,
      requestsPerSecond: w.requestsPerSecond,
      latency: { p50: w.p50Ms, p99: w.p99Ms },
      firstByte: null,
      serverCpuMsPerRequest: null,
    },
  ];
}

function listTable(protocols: ProtocolRun[]): Table {
  return {
    head: [
      'protocol',
      'client',
      'clients',
      'requests',
      'req/s',
      'p50 ms',
      'p99 ms',
      'first byte p50/p99 ms',
      'VG CPU ms/req',
      `p99 < ${LIST_P99_TARGET_MS} ms`,
    ],
    rows: protocols.flatMap((p) =>
      listRows(p).map((l) => [
        p.scheme,
        l.client,
        String(l.clients),
        String(l.requests),
        fixed(l.requestsPerSecond, 0),
        fixed(l.latency.p50, 2),
        fixed(l.latency.p99, 2),
        l.firstByte ? `${fixed(l.firstByte.p50, 2)}/${fixed(l.firstByte.p99, 2)}` : '-',
        l.serverCpuMsPerRequest === null ? '-' : fixed(l.serverCpuMsPerRequest, 2),
        mark(l.latency.p99 < LIST_P99_TARGET_MS),
      ]),
    ),
  };
}

function ratio(a: AudioRun, key: 'firstByte' | 'lastByte', p: keyof Spread): number {
  return a.voicegate[key][p] / a.nginx[key][p];
}

function firstByteTable(protocols: ProtocolRun[]): Table {
  const target = FIRST_BYTE_RATIO_TARGET;
  return {
    head: [
      'protocol',
      'connection',
      'requests each',
      'VG p50 ms',
      'VG p99 ms',
      'nginx p50 ms',
      'nginx p99 ms',
      'ratio p50',
      'ratio p99',
      `ratio ≤ ${target} (p50 / p99)`,
    ],
    rows: protocols.flatMap((p) =>
      p.audio.map((a) => [
        p.scheme,
        a.connection,
        String(Math.min(a.voicegate.requests, a.nginx.requests)),
        fixed(a.voicegate.firstByte.p50, 2),
        fixed(a.voicegate.firstByte.p99, 2),
        fixed(a.nginx.firstByte.p50, 2),
        fixed(a.nginx.firstByte.p99, 2),
        fixed(ratio(a, 'firstByte', 'p50'), 2),
        fixed(ratio(a, 'firstByte', 'p99'), 2),
        `${mark(ratio(a, 'firstByte', 'p50') <= target)} / ${mark(ratio(a, 'firstByte', 'p99') <= target)}`,
      ]),
    ),
  };
}

function lastByteTable(protocols: ProtocolRun[]): Table {
  const pair = (s: Spread | null): string => (s ? `${fixed(s.p50, 2)}/${fixed(s.p99, 2)}` : '-');
  return {
    head: [
      'protocol',
      'connection',
      'VG last byte p50/p99 ms',
      'nginx last byte p50/p99 ms',
      'ratio p50',
      'VG connect p50/p99 ms',
      'nginx connect p50/p99 ms',
      'VG CPU ms/req',
      'nginx CPU ms/req',
    ],
    rows: protocols.flatMap((p) =>
      p.audio.map((a) => [
        p.scheme,
        a.connection,
        pair(a.voicegate.lastByte),
        pair(a.nginx.lastByte),
        fixed(ratio(a, 'lastByte', 'p50'), 2),
        pair(a.voicegate.connect),
        pair(a.nginx.connect),
        fixed(a.voicegate.serverCpuMsPerRequest, 2),
        fixed(a.nginx.serverCpuMsPerRequest, 2),
      ]),
    ),
  };
}

function wrkAudioTable(protocols: ProtocolRun[], bytes: number): Table {
  return {
    head: ['protocol', 'server', 'connections', 'req/s', 'MB/s', 'p50 ms', 'p99 ms', 'errors'],
    rows: protocols.flatMap((p) =>
      p.wrk
        ? (
            [
              ['Voicegate', p.wrk.audioVoicegate],
              ['nginx', p.wrk.audioNginx],
            ] as const
          ).map(([name, w]) => [
            p.scheme,
            name,
            String(w.connections),
            fixed(w.requestsPerSecond, 0),
            fixed((w.requestsPerSecond * bytes) / 1e6, 0),
            fixed(w.p50Ms, 2),
            fixed(w.p99Ms, 2),
            String(w.errors),
          ])
        : [],
    ),
  };
}

function notes(r: Results): string[] {
  const { store, bounds } = r;
  const tlsSeen = r.protocols
    .flatMap((p) => p.audio)
    .flatMap((a) => [
      ['Voicegate', a.voicegate.tls],
      ['nginx', a.nginx.tls],
    ])
    .filter(([, t]) => t)
    .map(([name, t]) => {
      const tls = t as { protocol: string | null; cipher: string };
      return `${name as string} ${tls.protocol} ${tls.cipher}`;
    });
  const listBytes = r.protocols.map((p) => `${p.listBytes} bytes`).join(', ');
  const load = r.protocols
    .map(
      (p) =>
        `${p.scheme} ${fixed(p.machine.seconds, 0)} s: ${fixed(p.machine.busyCores, 2)} cores busy, ` +
        `${fixed(p.machine.othersCores, 2)} by other processes, load average ${fixed(p.machine.loadAverage, 1)}`,
    )
    .join('; ');
  const noisy = r.protocols.some((p) => p.machine.othersCores > OTHERS_NOISY_CORES);
  return [
    `Machine (${cpus().length} CPUs): ${load}.` +
      (noisy
        ? ' Other processes were busy during the run: the figures, p99 above all, are noisier and ' +
          'slower than on a quiet machine; CPU ms per request is the steadier figure.'
        : ''),
    `Store: one mailbox of ${store.messages} messages (${store.messages - 1} tones of ${store.shortBytes} ` +
      `bytes, one 1-minute WAV of ${store.long.bytes} bytes, 8 kHz 16-bit mono), deposited durably ` +
      `through ctx.messages.deposit in ${fixed(store.depositSeconds)} s before the servers start. ` +
      `GET /api/messages returns all of them (${listBytes} of JSON, no compression).`,
    `Voicegate: \`voicegate serve\` as its own process (${process.execPath}, ${process.version}), ` +
      'IMAP off, log level warn, logged in once through POST /api/login; every request carries the ' +
      'session cookie (the session check reads the store on each request).',
    `nginx ${r.nginx.version} (Debian${r.nginx.installed ? ', installed by this run with apt-get' : ''}): ` +
      `its own instance, worker_processes ${NGINX_WORKERS}, sendfile on, tcp_nopush on, access_log off, ` +
      "root = Voicegate's audio folder, so both send the very same file (checked by SHA-256). " +
      "Same certificate and key as Voicegate (voicegate init's self-signed one). Under TLS nginx cannot " +
      'use sendfile (no kernel TLS configured): it reads and encrypts in user space, as Node does.',
    `TLS negotiated on new connections: ${[...new Set(tlsSeen)].join('; ') || '-'}. New connections ` +
      'use no TLS session cache: each is a full handshake, as on a first visit.',
    `Client: Node (node:http/node:https Agent) in the benchmark process, on the same 2 cores as the ` +
      'servers. Times run from the request call to the first body byte and to the last. They include ' +
      "the client's own cost, the same for both servers, so a Voicegate/nginx ratio is pulled towards 1 " +
      '(a lower bound of the servers-only ratio).',
    `List: ${bounds.listWarmUp} untimed requests, then ${bounds.listRequests} (or ${r.opts.seconds} s) ` +
      'per row over keep-alive connections (one per client); p50/p99 to the last byte of the JSON. ' +
      'VG CPU = the server process’s CPU time from /proc (10 ms ticks) per request.',
    `Audio: ${bounds.audioWarmUp} untimed rounds, then ${bounds.audioRequests} rounds (or ${r.opts.seconds} s); ` +
      'one request to each server per round, one at a time, the order reversed every round. ' +
      'keep-alive = one connection per server, reused; new = a new connection per request ' +
      '(connect = TCP, or TCP + TLS handshake, already inside the first-byte time).',
    bounds.wrk
      ? `wrk: \`wrk -t1 -c${bounds.wrk.connections} -d${bounds.wrk.seconds}s --latency\`, keep-alive, ` +
        'a C client, so it shows what the servers do without Node on the client side.'
      : 'wrk: not installed, rows left out.',
  ];
}

/** Prints the tables and notes and writes results/web.md. */
export function report(r: Results): void {
  const lines = notes(r);
  const wrkAudio = wrkAudioTable(r.protocols, r.store.long.bytes);
  const sections: [string, Table][] = [
    [`Message list: GET /api/messages, ${r.store.messages} messages`, listTable(r.protocols)],
    [
      'Time to first audio byte: GET /api/messages/:id/audio (1-minute WAV) vs nginx, same file',
      firstByteTable(r.protocols),
    ],
    ['Same requests: last byte, connection set-up, server CPU', lastByteTable(r.protocols)],
    ...(wrkAudio.rows.length > 0
      ? ([['Audio throughput under wrk (keep-alive)', wrkAudio]] as [string, Table][])
      : []),
  ];
  for (const [title, table] of sections) console.log(`\n${title}:\n${textTable(table)}`);
  console.log('');
  for (const line of lines) console.log(`- ${line}`);

  const m = machine();
  const markdown = [
    '# Web benchmark',
    '',
    `${new Date().toISOString()}; Node ${m.node}, Linux ${m.kernel}, ${m.cpus}, ${m.memoryGiB} GiB; ` +
      '`npm run bench -- web` (test/bench/web.ts).',
    '',
    `Targets: list p99 under ${LIST_P99_TARGET_MS} ms; first audio byte within ` +
      `${FIRST_BYTE_RATIO_TARGET} times nginx's.`,
    '',
    ...sections.flatMap(([title, table]) => [`${title}:`, '', markdownTable(table), '']),
    ...lines.map((l) => `- ${l}`),
  ].join('\n');
  const file = writeResult('web', markdown, {
    benchmark: 'web',
    at: new Date().toISOString(),
    machine: m,
    targets: { listP99Ms: LIST_P99_TARGET_MS, firstByteRatio: FIRST_BYTE_RATIO_TARGET },
    bounds: { ...r.opts, ...r.bounds },
    nginx: { ...r.nginx, workerProcesses: NGINX_WORKERS },
    store: {
      messages: r.store.messages,
      shortBytes: r.store.shortBytes,
      longBytes: r.store.long.bytes,
      depositSeconds: r.store.depositSeconds,
    },
    protocols: r.protocols,
  });
  console.log(`\nwritten: ${file}`);
}
