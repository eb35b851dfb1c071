/**
 * imap-memory.ts's tables: bytes per idle session and the projection to 10,000 sessions, as
 * ratios to the bare Node server and to Dovecot of the same transport; where Voicegate's bytes
 * go (V8's heap, Buffers, the rest); and what opening the sessions cost (latency beside CPU and
 * the event loop's utilisation).
 */
import { fixed, markdownTable, textTable, type Table } from './bench-kit.ts';
import type { Reading, Transport } from './imap-memory-subjects.ts';

export interface Measured {
  server: string;
  transport: Transport;
  n: number;
  before: Reading;
  after: Reading;
  /** p50, p99 (ms) from connect to the greeting, and to IDLE. */
  greetMs: [number, number];
  setupMs: [number, number];
  seconds: number;
  /** The server's CPU over the opening. */
  cpuMs: number;
}

const TARGET = 10_000;
const MiB = (bytes: number): string => fixed(bytes / 2 ** 20);
const perSession = (m: Measured, key: 'rssBytes' | 'pssBytes'): number =>
  (m.after[key] - m.before[key]) / m.n;
/** Node is one process: RSS, the target's measure. Dovecot is many that share pages: PSS. */
const key = (m: Measured): 'rssBytes' | 'pssBytes' =>
  m.server === 'Dovecot' ? 'pssBytes' : 'rssBytes';
const cost = (m: Measured): number => perSession(m, key(m));

function eventLoop(m: Measured): string {
  const [a, b] = [m.before.probe?.elu, m.after.probe?.elu];
  if (!a || !b) return '-';
  const active = b.active - a.active;
  return fixed(active / (active + b.idle - a.idle), 2);
}

export function memoryReport(
  measured: Measured[],
  extraNodeArgs: string[],
): { text: string; markdown: string } {
  const find = (server: string, t: Transport): Measured | undefined =>
    measured.find((m) => m.server === server && m.transport === t);
  const ratio = (m: Measured, to: Measured | undefined): string =>
    to && to !== m ? fixed(cost(m) / cost(to), 2) : '-';

  const memory: Table = {
    head: [
      'server, transport',
      'at rest MiB',
      `with N MiB`,
      'with N, before the collection MiB',
      'per session B (RSS)',
      'per session B (PSS)',
      `${TARGET.toLocaleString('en')} projected MiB`,
      'x bare Node',
      'x Dovecot',
    ],
    rows: measured.map((m) => [
      `${m.server}, ${m.transport}`,
      MiB(m.before[key(m)]),
      MiB(m.after[key(m)]),
      m.after.probe?.beforeCollection ? MiB(m.after.probe.beforeCollection.rss) : '-',
      fixed(perSession(m, 'rssBytes'), 0),
      fixed(perSession(m, 'pssBytes'), 0),
      MiB(m.before[key(m)] + TARGET * cost(m)),
      ratio(m, find('bare Node', m.transport)),
      ratio(m, find('Dovecot', m.transport)),
    ]),
  };

  const detail: Table = {
    head: ['Voicegate, bytes per session', 'plain', 'tls'],
    rows: [],
  };
  const vg = (['plain', 'tls'] as const).map((t) => find('Voicegate', t));
  const node = (['plain', 'tls'] as const).map((t) => find('bare Node', t));
  const probeRow = (
    label: string,
    of: (r: Reading) => number,
    from: (Measured | undefined)[] = vg,
  ): string[] => [
    label,
    ...from.map((m) => (m?.before.probe ? fixed((of(m.after) - of(m.before)) / m.n, 0) : '-')),
  ];
  detail.rows.push(
    probeRow('RSS', (r) => r.rssBytes),
    probeRow('V8 heap, live objects', (r) => r.probe!.usage.heapUsed),
    probeRow('V8 heap, reserved', (r) => r.probe!.usage.heapTotal),
    probeRow('external (Buffers, ...)', (r) => r.probe!.usage.external),
    probeRow('RSS outside the V8 heap', (r) => r.rssBytes - r.probe!.usage.heapTotal),
    probeRow('RSS before the collection', (r) => r.probe!.beforeCollection?.rss ?? NaN),
    probeRow('V8 heap before the collection', (r) => r.probe!.beforeCollection?.heapUsed ?? NaN),
    probeRow('bare Node: RSS', (r) => r.rssBytes, node),
    probeRow('bare Node: V8 heap, live objects', (r) => r.probe!.usage.heapUsed, node),
    probeRow(
      'bare Node: RSS outside the V8 heap',
      (r) => r.rssBytes - r.probe!.usage.heapTotal,
      node,
    ),
  );

  const opening: Table = {
    head: [
      'server, transport',
      'sessions/s',
      'greeting p50 / p99 ms',
      'setup p50 / p99 ms',
      'CPU ms per session',
      'event loop busy',
    ],
    rows: measured.map((m) => [
      `${m.server}, ${m.transport}`,
      fixed(m.n / m.seconds, 0),
      `${fixed(m.greetMs[0])} / ${fixed(m.greetMs[1])}`,
      `${fixed(m.setupMs[0])} / ${fixed(m.setupMs[1])}`,
      fixed(m.cpuMs / m.n, 2),
      eventLoop(m),
    ]),
  };

  const flags = extraNodeArgs.length ? ` Extra node flags: ${extraNodeArgs.join(' ')}.` : '';
  const notes =
    `Per session = (memory with N + 1 sessions - memory with 1) / N. Projection = at rest + ` +
    `${TARGET.toLocaleString('en')} x per session; ratios are per session, same transport. ` +
    `Voicegate and bare Node: RSS after a full collection; Dovecot: PSS over its processes ` +
    `(RSS counts its shared pages once per process) once its sessions hibernated. Every ` +
    `session sends LOGIN, SELECT INBOX and IDLE; the bare Node server answers them with OK and ` +
    `a continuation and does nothing else.${flags}`;
  const text = [
    textTable(memory),
    '',
    textTable(detail),
    '',
    'Opening the sessions (200 at a time):',
    textTable(opening),
    '',
    notes,
  ].join('\n');
  const markdown = [
    markdownTable(memory),
    '',
    markdownTable(detail),
    '',
    'Opening the sessions (200 at a time):',
    '',
    markdownTable(opening),
    '',
    notes,
  ].join('\n');
  return { text, markdown };
}
