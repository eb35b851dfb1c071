/**
 * Where an IMAP server's bytes go: `voicegate serve` as its own process, with a probe
 * (memory-probe.ts) that reads its memory after a full garbage collection, before any session
 * and after N plaintext IDLE sessions (LOGIN, SELECT INBOX, IDLE, as the imap benchmark opens
 * them). The difference over N is the cost of one IDLE session, split into V8's heap, memory
 * outside the heap (Buffers) and the rest of the resident set (malloc'ed by Node, libuv and the
 * kernel's socket memory is not in it). IMAP_MEMORY_SESSIONS (default 2000) sets N;
 * IMAP_BENCH_NODE_ARGS adds node flags to the server, as in the imap benchmark. The yardstick,
 * in the same run: the RSS of a bare Node process with the server's V8 flags, doing nothing.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ScryptCost } from '../../server/domain/code-hash.ts';
import { toneWav } from '../../server/media/tone.ts';
import {
  fixed,
  machine,
  markdownTable,
  textTable,
  writeResult,
  type Benchmark,
} from './bench-kit.ts';
import { quote, RawImap } from './imap-client.ts';
import { prepareStore, VoicegateServer } from './imap-voicegate.ts';

const PROBE = fileURLToPath(new URL('./memory-probe.ts', import.meta.url));
const MAILBOXES = 50;
const CODE = '482913';
const CHEAP: ScryptCost = { N: 256, r: 8, p: 1 };
const LOCAL_ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);

interface Reading {
  usage: NodeJS.MemoryUsage;
  /** Per space: bytes of live objects, bytes reserved. */
  spaces: Record<string, [number, number]>;
  rssAnonKiB: number;
  rssFileKiB: number;
  threads: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function read(pid: number, file: string): Promise<Reading> {
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (;;) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Reading;
    } catch {
      // not written (completely) yet
    }
  }
}

async function openIdle(port: number, count: number, users: string[]): Promise<RawImap[]> {
  const sessions: RawImap[] = [];
  for (let at = 0; at < count; at += 200) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(200, count - at) }, async (_, i) => {
        const n = at + i;
        const imap = await RawImap.open({
          host: '127.0.0.1',
          port,
          localAddress: LOCAL_ADDRESSES[n % LOCAL_ADDRESSES.length],
          timeoutMs: 60_000,
        });
        await imap.command(`LOGIN ${quote(users[n % users.length]!)} ${quote(CODE)}`);
        await imap.command('SELECT INBOX');
        await imap.idle();
        return imap;
      }),
    );
    sessions.push(...batch);
  }
  return sessions;
}

/** RSS of `node --max-semi-space-size=2` idling: what any Node process costs here. */
async function bareNodeRss(): Promise<number> {
  const child = spawn(process.execPath, [
    '--max-semi-space-size=2',
    '-e',
    'setInterval(() => {}, 1e6)',
  ]);
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const status = readFileSync(`/proc/${child.pid}/status`, 'latin1');
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
  } finally {
    child.kill();
  }
}

const MiB = (bytes: number): string => fixed(bytes / 2 ** 20);

const bench: Benchmark = {
  name: 'imap-memory',
  title: 'Where the memory of a Voicegate IMAP server goes, before and with N IDLE sessions',
  async run() {
    const n = Number(process.env.IMAP_MEMORY_SESSIONS ?? 2000);
    const root = mkdtempSync(join(tmpdir(), 'voicegate-imap-memory-'));
    const probeFile = join(root, 'probe.json');
    const users = Array.from({ length: MAILBOXES }, (_, i) => `idle${i + 1}`);
    let server: VoicegateServer | undefined;
    let sessions: RawImap[] = [];
    try {
      const configFile = await prepareStore(
        mkdtempSync(join(root, 'voicegate-')),
        users.map((name) => ({ name, code: CODE, messages: 1, cost: CHEAP })),
        toneWav({ seconds: 5 }),
      );
      const extra = (process.env.IMAP_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
      process.env.VOICEGATE_MEMORY_PROBE = probeFile;
      server = await VoicegateServer.start(configFile, await freePort(), {
        logFile: join(root, 'voicegate.log'),
        nodeArgs: ['--expose-gc', '--import', PROBE, ...extra],
      });
      // One session first, so that what every session shares (compiled code, the first
      // mailbox read) is in the baseline, then the rest.
      sessions = await openIdle(server.port, 1, users);
      const before = await read(server.pid, probeFile);
      sessions.push(...(await openIdle(server.port, n, users)));
      const after = await read(server.pid, probeFile);
      const bare = await bareNodeRss();
      const rss = (r: Reading): number => (r.rssAnonKiB + r.rssFileKiB) * 1024;
      const outside = (r: Reading): number => rss(r) - r.usage.heapTotal;
      const rows: [string, number, number][] = [
        ['RSS', rss(before), rss(after)],
        [
          '  of it file-backed (code, libraries)',
          before.rssFileKiB * 1024,
          after.rssFileKiB * 1024,
        ],
        ['V8 heap, live objects', before.usage.heapUsed, after.usage.heapUsed],
        ['V8 heap, reserved', before.usage.heapTotal, after.usage.heapTotal],
        ['  of it new space', before.spaces.new_space?.[1] ?? 0, after.spaces.new_space?.[1] ?? 0],
        ['external (Buffers, ...)', before.usage.external, after.usage.external],
        ['RSS outside the V8 heap', outside(before), outside(after)],
      ];
      const table = {
        head: ['', 'before (MiB)', `${n} IDLE (MiB)`, 'per session (bytes)'],
        rows: rows.map(([what, b, a]) => [what, MiB(b), MiB(a), fixed((a - b) / n, 0)]),
      };
      console.log(textTable(table));
      console.log(`threads: ${before.threads} before, ${after.threads} after`);
      console.log(`yardstick: a bare node process idling, RSS ${MiB(bare)} MiB`);
      const m = machine();
      writeResult(
        'imap-memory',
        `# ${bench.title}\n\n${m.cpus}, Node ${m.node}, ${n} sessions on ${MAILBOXES} mailboxes. A bare Node process idling, in the same run: RSS ${MiB(bare)} MiB.\n\n${markdownTable(table)}\n`,
        { n, before, after, bareNodeRss: bare, machine: m },
      );
    } finally {
      for (const s of sessions) s.destroy();
      await server?.stop();
      rmSync(root, { recursive: true, force: true });
    }
  },
};

export default bench;
