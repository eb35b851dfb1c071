/**
 * The web API under load, Voicegate side by side with nginx in the same run:
 * 1. GET /api/messages on a 1,000-message mailbox: p50/p99 and requests/s, one client and four;
 * 2. time to the first audio byte of a 1-minute message, GET /api/messages/:id/audio, against
 *    nginx serving the very same WAV file from disk: keep-alive and a new connection each time.
 * Over HTTPS (both with Voicegate's self-signed certificate) and again over plain HTTP. Each
 * server is a process of its own; the clients run in this process (and `wrk`, if installed).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile, type BenchOptions, type Benchmark } from './bench-kit.ts';
import {
  hasWrk,
  interleave,
  makeAgent,
  runClients,
  runWrk,
  timedRequest,
  type ConnectionMode,
  type Endpoint,
  type Run,
  type Timed,
  type WrkResult,
} from './web-client.ts';
import {
  report,
  type AudioRun,
  type AudioSide,
  type ListRun,
  type ProtocolRun,
  type Spread,
} from './web-report.ts';
import {
  CODE,
  ensureNginx,
  freePort,
  loadMeter,
  MAILBOX,
  prepareStore,
  selfCpuMs,
  startNginx,
  startVoicegate,
  type PreparedStore,
  type ServerProcess,
} from './web-servers.ts';

const MESSAGES = 1000;
const LIST_CLIENTS = [1, 4] as const;
const LIST_REQUESTS = 300;
const LIST_WARM_UP = 50;
const AUDIO_REQUESTS = 200;
const AUDIO_WARM_UP = 20;
const WRK_CONNECTIONS = 4;
const WRK_SECONDS = 2;
/** Set to a folder to run Voicegate with --cpu-prof and keep its profiles there. */
const CPU_PROF_ENV = 'WEB_BENCH_CPU_PROF';

const benchmark: Benchmark = {
  name: 'web',
  title: 'Web API: message list of 1,000 messages, first audio byte vs nginx',
  run,
};
export default benchmark;

function spread(values: number[]): Spread {
  return { p50: percentile(values, 50), p99: percentile(values, 99) };
}

/** Logs in through POST /api/login and returns the Cookie header of the session. */
async function login(endpoint: Endpoint): Promise<string> {
  const agent = makeAgent(endpoint, 'new');
  const t = await timedRequest(endpoint, agent, '/api/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mailbox: MAILBOX, code: CODE }),
    keepBody: true,
  });
  agent.destroy();
  const cookie = [t.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('vg_session='));
  if (t.status !== 200 || !cookie) throw new Error(`login failed: HTTP ${t.status} ${t.body}`);
  return cookie.split(';')[0]!;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Untimed checks that both servers send what the benchmark claims they send. */
async function checkResponses(
  store: PreparedStore,
  vg: Endpoint,
  nginx: Endpoint,
  cookie: string,
): Promise<number> {
  const agent = makeAgent(vg, 'new');
  const list = await timedRequest(vg, agent, '/api/messages', {
    headers: { cookie },
    keepBody: true,
  });
  const parsed = JSON.parse(list.body!.toString()) as { messages: unknown[] };
  if (list.status !== 200 || parsed.messages.length !== store.messages)
    throw new Error(`GET /api/messages: HTTP ${list.status}, ${parsed.messages.length} messages`);
  const file = sha256(readFileSync(join(store.audioRoot, store.long.urlPath)));
  const fromVg = await timedRequest(vg, agent, `/api/messages/${store.long.id}/audio`, {
    headers: { cookie },
    keepBody: true,
  });
  const fromNginx = await timedRequest(nginx, makeAgent(nginx, 'new'), store.long.urlPath, {
    keepBody: true,
  });
  for (const [name, t] of [
    ['voicegate', fromVg],
    ['nginx', fromNginx],
  ] as const) {
    if (t.status !== 200 || sha256(t.body!) !== file)
      throw new Error(`${name} did not send the 1-minute WAV (HTTP ${t.status}, ${t.bytes} bytes)`);
  }
  agent.destroy();
  return list.bytes;
}

async function measureList(
  vg: ServerProcess,
  endpoint: Endpoint,
  cookie: string,
  opts: BenchOptions,
  bytes: number,
): Promise<ListRun[]> {
  const runs: ListRun[] = [];
  for (const clients of LIST_CLIENTS) {
    const agent = makeAgent(endpoint, 'keep-alive', clients);
    const get = (): Promise<Timed> =>
      timedRequest(endpoint, agent, '/api/messages', { headers: { cookie } });
    await runClients(clients, { seconds: opts.seconds, maxOps: LIST_WARM_UP }, get, bytes);
    const cpu0 = vg.cpuMs();
    const run = await runClients(
      clients,
      { seconds: opts.seconds, maxOps: Math.min(LIST_REQUESTS, opts.maxOps) },
      get,
      bytes,
    );
    const cpuMs = vg.cpuMs() - cpu0;
    agent.destroy();
    const n = run.timings.length;
    runs.push({
      client: 'node',
      clients,
      requests: n,
      seconds: run.seconds,
      requestsPerSecond: n / run.seconds,
      latency: spread(run.timings.map((t) => t.lastByteMs)),
      firstByte: spread(run.timings.map((t) => t.firstByteMs)),
      serverCpuMsPerRequest: cpuMs / n,
    });
    console.log(
      `  list, ${clients} client(s): ${n} requests, p50 ${runs.at(-1)!.latency.p50.toFixed(1)} ms, ` +
        `p99 ${runs.at(-1)!.latency.p99.toFixed(1)} ms`,
    );
  }
  return runs;
}

function audioSide(run: Run, cpuMs: number): AudioSide {
  const connects = run.timings.flatMap((t) => (t.connectMs === null ? [] : [t.connectMs]));
  return {
    requests: run.timings.length,
    firstByte: spread(run.timings.map((t) => t.firstByteMs)),
    lastByte: spread(run.timings.map((t) => t.lastByteMs)),
    connect: connects.length > 0 ? spread(connects) : null,
    tls: run.timings.find((t) => t.tls)?.tls ?? null,
    serverCpuMsPerRequest: cpuMs / run.timings.length,
  };
}

async function measureAudio(
  servers: { vg: ServerProcess; nginx: ServerProcess },
  endpoints: { vg: Endpoint; nginx: Endpoint },
  store: PreparedStore,
  cookie: string,
  opts: BenchOptions,
): Promise<AudioRun[]> {
  const runs: AudioRun[] = [];
  for (const mode of ['keep-alive', 'new'] as ConnectionMode[]) {
    const vgAgent = makeAgent(endpoints.vg, mode);
    const nginxAgent = makeAgent(endpoints.nginx, mode);
    const calls = [
      () =>
        timedRequest(endpoints.vg, vgAgent, `/api/messages/${store.long.id}/audio`, {
          headers: { cookie },
        }),
      () => timedRequest(endpoints.nginx, nginxAgent, store.long.urlPath),
    ];
    await interleave({ seconds: opts.seconds, maxOps: AUDIO_WARM_UP }, calls, store.long.bytes);
    const cpu0 = [servers.vg.cpuMs(), servers.nginx.cpuMs()];
    const [vgRun, nginxRun] = await interleave(
      { seconds: opts.seconds, maxOps: Math.min(AUDIO_REQUESTS, opts.maxOps) },
      calls,
      store.long.bytes,
    );
    const vg = audioSide(vgRun!, servers.vg.cpuMs() - cpu0[0]!);
    const nginx = audioSide(nginxRun!, servers.nginx.cpuMs() - cpu0[1]!);
    vgAgent.destroy();
    nginxAgent.destroy();
    runs.push({ connection: mode, voicegate: vg, nginx });
    console.log(
      `  audio, ${mode}: first byte p50 Voicegate ${vg.firstByte.p50.toFixed(2)} ms, ` +
        `nginx ${nginx.firstByte.p50.toFixed(2)} ms`,
    );
  }
  return runs;
}

async function measureWrk(
  endpoints: { vg: Endpoint; nginx: Endpoint },
  store: PreparedStore,
  cookie: string,
): Promise<ProtocolRun['wrk']> {
  const url = (e: Endpoint, path: string): string =>
    `${e.tls ? 'https' : 'http'}://127.0.0.1:${e.port}${path}`;
  const wrk = (e: Endpoint, path: string, headers?: Record<string, string>): Promise<WrkResult> =>
    runWrk(url(e, path), { connections: WRK_CONNECTIONS, seconds: WRK_SECONDS, headers });
  return {
    list: await wrk(endpoints.vg, '/api/messages', { cookie }),
    audioVoicegate: await wrk(endpoints.vg, `/api/messages/${store.long.id}/audio`, { cookie }),
    audioNginx: await wrk(endpoints.nginx, store.long.urlPath),
  };
}

/** Both servers over HTTPS or over plain HTTP: start, measure, stop. */
async function measureProtocol(
  root: string,
  store: PreparedStore,
  tls: boolean,
  opts: BenchOptions,
  started: ServerProcess[],
  withWrk: boolean,
): Promise<ProtocolRun> {
  const scheme = tls ? 'https' : 'http';
  const profDir = process.env[CPU_PROF_ENV];
  const endpoints = {
    vg: { tls, port: await freePort() },
    nginx: { tls, port: await freePort() },
  };
  const vg = await startVoicegate(store, {
    port: endpoints.vg.port,
    tls,
    logFile: join(root, `voicegate-${scheme}.log`),
    nodeArgs: profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
  });
  started.push(vg);
  const nginx = await startNginx(join(root, `nginx-${scheme}`), {
    port: endpoints.nginx.port,
    tls,
    root: store.audioRoot,
    certFile: store.certFile,
    keyFile: store.keyFile,
  });
  started.push(nginx);
  console.log(
    `${scheme}: Voicegate pid ${vg.pid} on ${endpoints.vg.port}, nginx on ${endpoints.nginx.port}`,
  );
  const load = loadMeter(() => selfCpuMs() + vg.cpuMs() + nginx.cpuMs());
  const cookie = await login(endpoints.vg);
  const listBytes = await checkResponses(store, endpoints.vg, endpoints.nginx, cookie);
  const list = await measureList(vg, endpoints.vg, cookie, opts, listBytes);
  const audio = await measureAudio({ vg, nginx }, endpoints, store, cookie, opts);
  const wrk = withWrk ? await measureWrk(endpoints, store, cookie) : null;
  const machine = load();
  for (const server of [vg, nginx]) {
    await server.stop();
    started.splice(started.indexOf(server), 1);
  }
  console.log(
    `  machine: ${machine.busyCores.toFixed(2)} cores busy, ${machine.othersCores.toFixed(2)} ` +
      `by other processes, load average ${machine.loadAverage.toFixed(1)}`,
  );
  return { scheme, listBytes, list, audio, wrk, machine };
}

async function run(opts: BenchOptions): Promise<void> {
  const nginx = ensureNginx();
  if (nginx.installed) console.log(`  installed nginx ${nginx.version} with apt-get`);
  const withWrk = await hasWrk();
  const root = mkdtempSync(join(tmpdir(), 'voicegate-bench-web-'));
  const started: ServerProcess[] = [];
  try {
    const store = await prepareStore(join(root, 'voicegate'), MESSAGES);
    console.log(
      `  ${store.messages} messages deposited in ${store.depositSeconds.toFixed(1)} s ` +
        `(${root})`,
    );
    const protocols: ProtocolRun[] = [];
    for (const tls of [true, false]) {
      protocols.push(await measureProtocol(root, store, tls, opts, started, withWrk));
    }
    report({
      opts,
      store,
      nginx,
      protocols,
      bounds: {
        listRequests: Math.min(LIST_REQUESTS, opts.maxOps),
        listWarmUp: LIST_WARM_UP,
        audioRequests: Math.min(AUDIO_REQUESTS, opts.maxOps),
        audioWarmUp: AUDIO_WARM_UP,
        wrk: withWrk ? { connections: WRK_CONNECTIONS, seconds: WRK_SECONDS } : null,
      },
    });
  } finally {
    for (const server of started) await server.stop().catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
}
