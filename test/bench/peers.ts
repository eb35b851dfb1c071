/**
 * `npm run bench -- peers`: several servers on loopback, each figure beside a yardstick of the
 * same run.
 *
 * - Failover: the central (`voicegate serve`, its own process) killed with SIGKILL until the
 *   backup (in this process) is live and answers a SIP OPTIONS; p50/p99 over PEERS_BENCH_RUNS
 *   runs (default 10), beside the floor the configuration sets (interval x missed beats).
 * - Failback (manual): the central started again and seen by the backup, `topology failback`
 *   asked (what the CLI does: the request file) until the backup is in standby, the message it
 *   recorded while live handed to the central first; beside one heartbeat interval.
 * - Forwarding: messages recorded on a distributed server until all are stored on the central,
 *   per second, beside direct deposits on the central.
 * - Replication lag: a greeting changed on the central every PEERS_BENCH_CHANGE_MS until the
 *   backup states the central's digest, beside the central's own change.
 *
 * PEERS_BENCH_INTERVAL (s, default 1) and PEERS_BENCH_MISSED (default 2) set the heartbeat.
 */
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/config/load.ts';
import { ensureSelfSignedCert } from '../../server/config/tls-cert.ts';
import { createContext } from '../../server/context.ts';
import type { ReplicaPosition } from '../../server/domain/replica.ts';
import { createLogger } from '../../server/log.ts';
import { FailoverFiles } from '../../server/peers/failover-file.ts';
import { flowsFileAt } from '../../server/peers/replica-files.ts';
import type { RunningServer } from '../../server/server.ts';
import { freePort } from '../helpers/free-port.ts';
import { serveProcess, type ServeProcess } from '../helpers/serve-process.ts';
import { until, wav } from '../mail/mail-helpers.ts';
import { peer, startNode } from '../peers/peers-kit.ts';
import {
  fixed,
  markdownTable,
  percentile,
  textTable,
  writeResult,
  type Benchmark,
  type BenchOptions,
} from './bench-kit.ts';

const envNumber = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!(value > 0)) throw new Error(`${name} must be a positive number`);
  return value;
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One SIP OPTIONS over UDP; resolves with the status code of the answer (0: none in time). */
function sipOptions(port: number, timeoutMs = 2000): Promise<number> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => {
    const done = (code: number): void => {
      clearTimeout(timer);
      socket.close();
      resolve(code);
    };
    const timer = setTimeout(() => done(0), timeoutMs);
    socket.on('message', (msg) =>
      done(Number(/^SIP\/2\.0 (\d{3})/.exec(msg.toString())?.[1] ?? 0)),
    );
    socket.bind(0, '127.0.0.1', () => {
      const local = socket.address().port;
      const tag = Math.random().toString(36).slice(2);
      const request = [
        `OPTIONS sip:127.0.0.1:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK${tag}`,
        'Max-Forwards: 70',
        `From: <sip:bench@127.0.0.1>;tag=${tag}`,
        `To: <sip:127.0.0.1:${port}>`,
        `Call-ID: ${tag}@127.0.0.1`,
        'CSeq: 1 OPTIONS',
        `Contact: <sip:bench@127.0.0.1:${local}>`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      socket.send(request, port, '127.0.0.1');
    });
  });
}

interface FailoverFigures {
  intervalSeconds: number;
  missedBeats: number;
  liveMs: number[];
  answeringMs: number[];
  failbackMs: number[];
  optionsMs: number[];
}

/** The central in a process of its own, killed and started again; the backup in this one. */
async function failover(dir: string, runs: number): Promise<FailoverFigures> {
  const intervalSeconds = envNumber('PEERS_BENCH_INTERVAL', 1);
  const missedBeats = envNumber('PEERS_BENCH_MISSED', 2);
  const [smtpPort, httpPort] = [await freePort(), await freePort()];
  const at = (n: string): string => join(dir, n);
  for (const n of ['central', 'backup']) {
    mkdirSync(at(n), { recursive: true });
    await ensureSelfSignedCert(
      join(at(n), 'tls', 'cert.pem'),
      join(at(n), 'tls', 'key.pem'),
      'localhost',
    );
  }
  const centralFile = join(at('central'), 'voicegate.yaml');
  writeFileSync(centralFile, 'server:\n  dataDir: .\n');
  const centralSets = [
    'server.name=central',
    'server.role=central',
    'http.tls=false',
    'sip.rtpPortMin=0',
    'sip.rtpPortMax=0',
    'log.level=info',
    `smtp.port=${smtpPort}`,
    `http.port=${httpPort}`,
    `topology.backup=${peer({ name: 'backup', smtp: '127.0.0.1:9' })}`,
  ];
  const ctx = await createContext(loadConfig(centralFile, centralSets), createLogger('silent'));
  await ctx.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  await ctx.close();
  let central: ServeProcess | null = await serveProcess(centralFile, centralSets);
  const backup = await startNode(at('backup'), [
    'server.name=backup',
    'server.role=backup',
    'topology.retrySeconds=1',
    `topology.failover.intervalSeconds=${intervalSeconds}`,
    `topology.failover.missedBeats=${missedBeats}`,
    'topology.failover.failback=manual',
    `topology.central=${peer({
      name: 'central',
      smtp: `127.0.0.1:${smtpPort}`,
      https: `http://127.0.0.1:${httpPort}`,
      caFile: join(at('central'), 'tls', 'cert.pem'),
    })}`,
  ]);
  const figures: FailoverFigures = {
    intervalSeconds,
    missedBeats,
    liveMs: [],
    answeringMs: [],
    failbackMs: [],
    optionsMs: [],
  };
  try {
    await backup.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
    const audio = wav(dir, 1);
    const files = new FailoverFiles(at('backup'));
    const state = (): string => files.load()?.state ?? 'standby';
    for (let run = 0; run < runs; run++) {
      const startedAt = Date.now();
      await until(
        () => state() === 'standby' && (files.load()?.lastBeatAt ?? 0) > startedAt,
        30_000,
        'the backup in standby, hearing the central',
      );
      // The yardstick: the backup answering OPTIONS while nothing happens.
      const asked = performance.now();
      if ((await sipOptions(backup.ports.sip)) !== 200) throw new Error('no answer to OPTIONS');
      figures.optionsMs.push(performance.now() - asked);

      central!.child.kill('SIGKILL');
      const killed = Date.now();
      await until(() => state() === 'live', 60_000, 'the backup live');
      figures.liveMs.push(files.load()!.changedAt - killed);
      if ((await sipOptions(backup.ports.sip)) !== 200) throw new Error('no answer when live');
      figures.answeringMs.push(Date.now() - killed);
      central = null;

      // Something to hand back: a message recorded while live.
      await backup.context.messages.deposit({
        mailbox: '201',
        audio,
        callerNumber: String(1000 + run),
      });
      central = await serveProcess(centralFile, centralSets);
      await until(() => state() === 'returning', 30_000, 'the central seen again');
      const asking = Date.now();
      files.requestFailback();
      await until(() => state() === 'standby', 60_000, 'handed back');
      figures.failbackMs.push(files.load()!.changedAt - asking);
      console.log(
        `run ${run + 1}/${runs}: live ${figures.liveMs.at(-1)} ms, answering ${figures.answeringMs.at(-1)} ms, failback ${figures.failbackMs.at(-1)} ms`,
      );
    }
  } finally {
    await backup.close();
    await central?.stop();
  }
  return figures;
}

interface FlowFigures {
  messages: number;
  forwardedPerSecond: number;
  directPerSecond: number;
  changes: number;
  changeEveryMs: number;
  lagMs: number[];
  centralChangeMs: number[];
}

/** A central with a backup and a distributed server, all in this process. */
async function flow(dir: string, messages: number, changes: number): Promise<FlowFigures> {
  const changeEveryMs = envNumber('PEERS_BENCH_CHANGE_MS', 250);
  const ports = { central: await freePort(), backup: await freePort(), site1: await freePort() };
  const at = (n: string): string => join(dir, n);
  const cert = (n: string): string => join(at(n), 'tls', 'cert.pem');
  for (const n of ['central', 'backup', 'site1']) {
    mkdirSync(at(n), { recursive: true });
    await ensureSelfSignedCert(cert(n), join(at(n), 'tls', 'key.pem'), 'localhost');
  }
  writeFileSync(join(at('central'), 'flows.yaml'), 'flows: {}\n');
  const toCentral = peer({
    name: 'central',
    smtp: `127.0.0.1:${ports.central}`,
    caFile: cert('central'),
  });
  const nodes: RunningServer[] = [];
  try {
    const central = await startNode(at('central'), [
      'server.name=central',
      'server.role=central',
      `smtp.port=${ports.central}`,
      'topology.retrySeconds=1',
      `topology.backup=${peer({ name: 'backup', smtp: `127.0.0.1:${ports.backup}`, caFile: cert('backup') })}`,
      `topology.distributed=[${peer({ name: 'site1', smtp: `127.0.0.1:${ports.site1}`, caFile: cert('site1') })}]`,
    ]);
    nodes.push(central);
    const receiver = async (name: string, role: string): Promise<RunningServer> => {
      const node = await startNode(at(name), [
        `server.name=${name}`,
        `server.role=${role}`,
        `smtp.port=${ports[name as keyof typeof ports]}`,
        'topology.retrySeconds=1',
        `topology.central=${toCentral}`,
      ]);
      nodes.push(node);
      return node;
    };
    const site1 = await receiver('site1', 'distributed');
    await receiver('backup', 'backup');
    const audio = wav(dir, 1);
    await central.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
    await central.context.mailboxes.add({ name: 'bob', extension: '202' }, '1234');
    // The site gets its mailboxes from the central.
    await until(() => site1.context.store.findMailbox('alice'), 60_000, 'alice on the site');
    const count = async (name: string): Promise<number> => {
      const box = await central.context.store.findMailbox(name);
      return (await central.context.store.listMessages(box!.id)).length;
    };

    // The yardstick: direct deposits on the central.
    let started = performance.now();
    for (let i = 0; i < messages; i++)
      await central.context.messages.deposit({ mailbox: '202', audio, callerNumber: `${i}` });
    const directPerSecond = messages / ((performance.now() - started) / 1000);

    // Recorded on the site, counted once stored on the central.
    started = performance.now();
    for (let i = 0; i < messages; i++)
      await site1.context.messages.deposit({ mailbox: '201', audio, callerNumber: `${i}` });
    await until(async () => (await count('alice')) >= messages, 300_000, 'all forwarded');
    const forwardedPerSecond = messages / ((performance.now() - started) / 1000);

    // Replication lag: one greeting changed at a time, at a steady pace.
    const kinds = ['mailbox', 'members', 'greeting', 'flows'] as const;
    const flowsFile = flowsFileAt(join(at('central'), 'flows.yaml'));
    const position = (): ReplicaPosition | null => {
      try {
        const file = join(at('backup'), 'replication', 'from-central.json');
        return JSON.parse(readFileSync(file, 'utf8')) as ReplicaPosition;
      } catch {
        return null;
      }
    };
    const inStep = async (): Promise<boolean> => {
      const want = await central.context.replica.digest(kinds as never, flowsFile);
      const p = position();
      return p?.complete === true && p.localDigest === want;
    };
    await until(inStep, 120_000, 'the backup in step (snapshot)');
    const lagMs: number[] = [];
    const centralChangeMs: number[] = [];
    const greetings = [1, 2, 3].map((seconds) => wav(dir, seconds, `greeting${seconds}.wav`));
    for (let i = 0; i < changes; i++) {
      const changed = performance.now();
      await central.context.messages.setGreeting('alice', 'unavailable', greetings[i % 3]!);
      centralChangeMs.push(performance.now() - changed);
      const want = await central.context.replica.digest(kinds as never, flowsFile);
      while (position()?.localDigest !== want) {
        if (performance.now() - changed > 60_000) throw new Error('the backup fell behind');
        await sleep(5);
      }
      const lag = performance.now() - changed;
      lagMs.push(lag);
      await sleep(Math.max(0, changeEveryMs - lag));
    }
    return {
      messages,
      forwardedPerSecond,
      directPerSecond,
      changes,
      changeEveryMs,
      lagMs,
      centralChangeMs,
    };
  } finally {
    for (const node of nodes.reverse()) await node.close();
  }
}

const ms = (values: number[], p: number): string => fixed(percentile(values, p), 0);

const bench: Benchmark = {
  name: 'peers',
  title: 'several servers: failover, failback, forwarding to the central, replication lag',
  async run(opts: BenchOptions): Promise<void> {
    const runs = envNumber('PEERS_BENCH_RUNS', 10);
    const messages = Math.min(opts.maxOps, envNumber('PEERS_BENCH_MESSAGES', 100));
    const changes = Math.min(opts.maxOps, envNumber('PEERS_BENCH_CHANGES', 40));
    const dir = mkdtempSync(join(tmpdir(), 'voicegate-bench-peers-'));
    const loadBefore = loadavg();
    try {
      const f = await failover(join(dir, 'failover'), runs);
      const w = await flow(join(dir, 'flow'), messages, changes);
      const floorMs = f.intervalSeconds * f.missedBeats * 1000;
      const table = {
        head: ['measure', 'p50', 'p99', 'yardstick', 'ratio (p50)'],
        rows: [
          [
            `failover: central killed to backup live (${runs} runs)`,
            ms(f.liveMs, 50),
            ms(f.liveMs, 99),
            `floor ${floorMs} ms (${f.intervalSeconds} s x ${f.missedBeats} beats)`,
            fixed(percentile(f.liveMs, 50) / floorMs, 2),
          ],
          [
            `failover: ... to backup answering OPTIONS`,
            ms(f.answeringMs, 50),
            ms(f.answeringMs, 99),
            `floor ${floorMs} ms`,
            fixed(percentile(f.answeringMs, 50) / floorMs, 2),
          ],
          [
            `failback (manual) asked to standby, caught up`,
            ms(f.failbackMs, 50),
            ms(f.failbackMs, 99),
            `interval ${f.intervalSeconds * 1000} ms`,
            fixed(percentile(f.failbackMs, 50) / (f.intervalSeconds * 1000), 2),
          ],
          [
            `OPTIONS answered by the backup at rest (ms)`,
            fixed(percentile(f.optionsMs, 50), 1),
            fixed(percentile(f.optionsMs, 99), 1),
            '',
            '',
          ],
          [
            `replication lag, greeting changed (${changes}, one per ${w.changeEveryMs} ms)`,
            ms(w.lagMs, 50),
            ms(w.lagMs, 99),
            `central's own change ${fixed(percentile(w.centralChangeMs, 50), 0)} ms`,
            fixed(percentile(w.lagMs, 50) / percentile(w.centralChangeMs, 50), 1),
          ],
        ],
      };
      const rates = {
        head: ['1-second voicemails', 'per second', 'ratio'],
        rows: [
          ['direct deposits on the central (yardstick)', fixed(w.directPerSecond, 1), '1.00'],
          [
            `recorded on a distributed server, stored on the central (${messages})`,
            fixed(w.forwardedPerSecond, 1),
            fixed(w.forwardedPerSecond / w.directPerSecond, 2),
          ],
        ],
      };
      const loadAfter = loadavg();
      const load = `load average ${loadBefore.map((l) => l.toFixed(1)).join(', ')} before, ${loadAfter.map((l) => l.toFixed(1)).join(', ')} after`;
      console.log(`${textTable(table)}\n\n${textTable(rates)}\n\n${load}`);
      const file = writeResult(
        'peers',
        `# peers\n\nTimes in ms. Heartbeat every ${f.intervalSeconds} s, live after ${f.missedBeats} missed beats. The machine is shared: ${load}.\n\n${markdownTable(table)}\n\n${markdownTable(rates)}\n`,
        { loadBefore, loadAfter, failover: f, flow: w },
      );
      console.log(`\nwrote ${file}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default bench;
