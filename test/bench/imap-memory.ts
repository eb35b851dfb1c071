/**
 * What one idle IMAP session costs in memory, plaintext and over implicit TLS (port 993's way),
 * Voicegate beside two yardsticks in the same run: a bare Node server (memory-yardstick.js:
 * `net` or `tls.createServer` and nothing else, with the server's node flags), which is the
 * least any Node process can hold per connection, and Dovecot (hibernating its IDLE sessions).
 * Each server runs as its own process, started fresh for each transport; one session first, so
 * that what every session shares is in the baseline, then N more (IMAP_MEMORY_SESSIONS, default
 * 2,000: the machine is shared; the projection to 10,000 is linear). Voicegate's and Dovecot's
 * sessions LOGIN, SELECT INBOX and IDLE, as the imap benchmark opens them; the bare server
 * answers the same commands with OK and nothing else. The Node processes are read after a full collection (memory-probe.js), with
 * V8's heap and Buffers apart; Dovecot once its sessions have hibernated. Opening the sessions is
 * timed too (greeting and whole setup, p50/p99), beside the server's CPU time and, for the Node
 * ones, its event loop's utilisation over the same time. IMAP_BENCH_NODE_ARGS adds node flags to
 * both Node servers; IMAP_MEMORY_SERVERS (e.g. `voicegate`, `voicegate,bare node`) picks some.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ScryptCost } from '../../server/domain/code-hash.ts';
import { toneWav } from '../../server/media/tone.ts';
import {
  fixed,
  machine,
  percentile,
  serverAllocator,
  writeResult,
  type Benchmark,
} from './bench-kit.ts';
import { quote, RawImap } from './imap-client.ts';
import { ensureDovecot, raiseSysctl } from './imap-dovecot.ts';
import {
  bareNode,
  dovecot,
  makeCertificate,
  voicegate,
  type Reading,
  type Running,
  type Subject,
  type Transport,
} from './imap-memory-subjects.ts';
import { memoryReport, type Measured } from './imap-memory-report.ts';
import { prepareStore } from './imap-voicegate.ts';

const MAILBOXES = 50;
const CODE = '482913';
const CHEAP: ScryptCost = { N: 256, r: 8, p: 1 };
const LOCAL_ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);
const BATCH = 200;

interface Opened {
  sessions: RawImap[];
  greetMs: number[];
  setupMs: number[];
  seconds: number;
}

/** `count` sessions, `BATCH` at a time, each timed from connect to its greeting and to IDLE. */
async function open(
  server: Running,
  tls: boolean,
  count: number,
  users: string[],
  from = 0,
): Promise<Opened> {
  const out: Opened = { sessions: [], greetMs: [], setupMs: [], seconds: 0 };
  const t0 = performance.now();
  for (let at = 0; at < count; at += BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(BATCH, count - at) }, async (_, i) => {
        const n = from + at + i;
        const start = performance.now();
        const imap = await RawImap.open({
          host: '127.0.0.1',
          port: server.port,
          localAddress: LOCAL_ADDRESSES[n % LOCAL_ADDRESSES.length],
          timeoutMs: 60_000,
          tls,
        });
        out.greetMs.push(performance.now() - start);
        if (server.login) {
          await imap.command(`LOGIN ${quote(users[n % users.length]!)} ${quote(CODE)}`);
          await imap.command('SELECT INBOX');
          await imap.idle();
        }
        out.setupMs.push(performance.now() - start);
        return imap;
      }),
    );
    out.sessions.push(...batch);
  }
  out.seconds = (performance.now() - t0) / 1000;
  return out;
}

async function measure(
  subject: Subject,
  transport: Transport,
  n: number,
  users: string[],
  say: (line: string) => void,
): Promise<Measured> {
  say(`${subject.name}, ${transport}: ${n} sessions ...`);
  const server = await subject.start(transport);
  let sessions: RawImap[] = [];
  try {
    const tls = transport === 'tls';
    sessions = (await open(server, tls, 1, users)).sessions;
    const before: Reading = await server.read();
    const cpu0 = server.cpuMs();
    const opened = await open(server, tls, n, users, 1);
    // CPU over the opening alone, before the reading waits for Dovecot's hibernation.
    const cpuMs = server.cpuMs() - cpu0;
    sessions.push(...opened.sessions);
    const after: Reading = await server.read();
    const m: Measured = {
      cpuMs,
      server: subject.name,
      transport,
      n,
      before,
      after,
      greetMs: [percentile(opened.greetMs, 50), percentile(opened.greetMs, 99)],
      setupMs: [percentile(opened.setupMs, 50), percentile(opened.setupMs, 99)],
      seconds: opened.seconds,
    };
    say(
      `  ${fixed((after.rssBytes - before.rssBytes) / n, 0)} B RSS, ` +
        `${fixed((after.pssBytes - before.pssBytes) / n, 0)} B PSS per session; ` +
        `opened in ${fixed(opened.seconds)} s, setup p99 ${fixed(m.setupMs[1])} ms`,
    );
    return m;
  } finally {
    for (const s of sessions) s.destroy();
    await server.stop();
  }
}

const bench: Benchmark = {
  name: 'imap-memory',
  title: 'Memory per idle IMAP session, plaintext and TLS, beside a bare Node server and Dovecot',
  async run() {
    const say = (line: string): void => console.log(line);
    const n = Number(process.env.IMAP_MEMORY_SESSIONS ?? 2000);
    const root = mkdtempSync(join(tmpdir(), 'voicegate-imap-memory-'));
    const undo: (() => unknown)[] = [];
    try {
      const installed = ensureDovecot(say);
      const users = Array.from({ length: MAILBOXES }, (_, i) => `idle${i + 1}`);
      const certificate = makeCertificate(join(root, 'tls'));
      const configFile = await prepareStore(
        mkdtempSync(join(root, 'voicegate-')),
        users.map((name) => ({ name, code: CODE, messages: 1, cost: CHEAP })),
        toneWav({ seconds: 5 }),
      );
      const extra = (process.env.IMAP_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
      raiseSysctl('/proc/sys/fs/inotify/max_user_instances', n * 2, undo);
      const subjects = [
        voicegate(configFile, root, certificate, extra),
        bareNode(root, certificate, extra),
        // The same cost as nothing on both sides: this measures memory, not log-ins.
        dovecot(
          root,
          users.map((name) => ({ name, hash: `{PLAIN}${CODE}` })),
          certificate,
        ),
      ];
      // IMAP_MEMORY_SERVERS=voicegate (or 'voicegate,dovecot', ...) measures only those.
      const only = process.env.IMAP_MEMORY_SERVERS?.toLowerCase().split(',');
      // IMAP_MEMORY_TRANSPORTS=plain (or tls) measures only that transport.
      const transports = (['plain', 'tls'] as const).filter(
        (t) => process.env.IMAP_MEMORY_TRANSPORTS?.split(',').includes(t) ?? true,
      );
      const measured: Measured[] = [];
      for (const s of subjects.filter((s) => !only || only.includes(s.name.toLowerCase())))
        for (const t of transports) measured.push(await measure(s, t, n, users, say));
      const { text, markdown } = memoryReport(measured, extra);
      console.log(`\n${text}`);
      const m = machine();
      const head = `# ${bench.title}\n\n${m.cpus}, Node ${m.node}, Dovecot ${installed.version}, load average ${loadavg()[0]!.toFixed(1)}; ${n} sessions on ${MAILBOXES} mailboxes; the Node servers' allocator: ${serverAllocator()}.\n\n`;
      say(`\nwritten: ${writeResult('imap-memory', head + markdown, { measured, machine: m })}`);
    } finally {
      for (const step of undo.reverse()) step();
      rmSync(root, { recursive: true, force: true });
    }
  },
};

export default bench;
