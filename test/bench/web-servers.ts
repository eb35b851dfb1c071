/**
 * The two servers of the web benchmark, each a process of its own: Voicegate (`voicegate serve`
 * on a store filled beforehand through the domain, as the CLI would) and a minimal nginx serving
 * Voicegate's audio folder, with the same certificate, so both send the very same WAV file.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { loadavg } from 'node:os';
import { join, relative, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../../server/config/load.ts';
import { createContext } from '../../server/context.ts';
import { createLogger } from '../../server/log.ts';
import { toneWav } from '../../server/media/tone.ts';
import { BIN, runCli } from '../helpers/cli.ts';
import { BENCH_LIMITS, sleep } from './bench-kit.ts';
import { embedded } from '../store/embedded.ts';
import type { MachineLoad } from './web-report.ts';

export const MAILBOX = 'bench';
export const CODE = '13572468';
const SHORT_SECONDS = 2;
const LONG_SECONDS = 60;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

export interface PreparedStore {
  configFile: string;
  dataDir: string;
  audioRoot: string;
  certFile: string;
  keyFile: string;
  messages: number;
  /** The 1-minute message: its id in the API and its path under the audio folder (for nginx). */
  long: { id: string; urlPath: string; bytes: number };
  shortBytes: number;
  /** Wall time of the deposits (durable, one after another). */
  depositSeconds: number;
}

/**
 * `voicegate init --dir`, then one mailbox and `messages` deposits through
 * `ctx.messages.deposit`: short tones, and one 1-minute message in the middle of the list.
 */
export async function prepareStore(dir: string, messages: number): Promise<PreparedStore> {
  const init = await runCli(['init', '--dir', dir]);
  if (init.code !== 0) throw new Error(`voicegate init failed: ${init.stderr || init.stdout}`);
  const configFile = join(dir, 'voicegate.yaml');
  const loaded = loadConfig(configFile);
  const ctx = await createContext(loaded, createLogger('silent'));
  try {
    await ctx.mailboxes.add({ name: MAILBOX, extension: '200' }, CODE);
    const short = toneWav({ seconds: SHORT_SECONDS });
    const long = toneWav({ seconds: LONG_SECONDS });
    const longAt = Math.floor(messages / 2);
    let longMessage: { id: string; key: string } | undefined;
    const t0 = performance.now();
    for (let i = 0; i < messages; i++) {
      const [m] = await ctx.messages.deposit({
        mailbox: MAILBOX,
        audio: i === longAt ? long : short,
        callerNumber: `+1555${String(100_000 + i)}`,
        callerName: `Caller ${i}`,
      });
      if (i === longAt) longMessage = { id: m!.id, key: m!.audio.key };
    }
    const depositSeconds = (performance.now() - t0) / 1000;
    const files = embedded(ctx).audio;
    const urlPath = `/${relative(files.root, files.path(longMessage!.key)).split(sep).join('/')}`;
    return {
      configFile,
      dataDir: loaded.dataDir,
      audioRoot: files.root,
      certFile: loaded.tlsCert,
      keyFile: loaded.tlsKey,
      messages,
      long: { id: longMessage!.id, urlPath, bytes: long.byteLength },
      shortBytes: short.byteLength,
      depositSeconds,
    };
  } finally {
    await ctx.close();
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Clock ticks per second of /proc/PID/stat times: 100 on every Linux this runs on. */
const CLK_TCK = 100;

/** utime + stime of a process (ms) and its parent's pid, from /proc; null once it is gone. */
function procStat(pid: number): { ppid: number; cpuMs: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // The command name is in parentheses and may hold spaces: fields start after the last ')'.
  const f = text
    .slice(text.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  // f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return { ppid: f[1]!, cpuMs: ((f[11]! + f[12]!) * 1000) / CLK_TCK };
}

/** CPU ms used so far by `pid` and its children (nginx's workers are children of its master). */
export function treeCpuMs(pid: number): number {
  let sum = procStat(pid)?.cpuMs ?? 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = procStat(Number(name));
    if (s && s.ppid === pid) sum += s.cpuMs;
  }
  return sum;
}

/** CPU ms all CPUs of the machine have spent busy since boot (/proc/stat, steal included). */
export function machineBusyMs(): number {
  const f = readFileSync('/proc/stat', 'latin1').split('\n')[0]!.trim().split(/\s+/).map(Number);
  // cpu user nice system idle iowait irq softirq steal ...: all but idle and iowait.
  const busy = f[1]! + f[2]! + f[3]! + f[6]! + f[7]! + f[8]!;
  return (busy * 1000) / CLK_TCK;
}

/**
 * How many cores the machine kept busy from now until the returned function is called, and how
 * many of those were not this benchmark (`oursCpuMs`: CPU ms its own processes have used so
 * far): other work on the machine skews the figures, p99 first.
 */
export function loadMeter(oursCpuMs: () => number): () => MachineLoad {
  const t0 = performance.now();
  const busy0 = machineBusyMs();
  const ours0 = oursCpuMs();
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const busyCores = (machineBusyMs() - busy0) / 1000 / seconds;
    const oursCores = (oursCpuMs() - ours0) / 1000 / seconds;
    return {
      seconds,
      busyCores,
      othersCores: Math.max(0, busyCores - oursCores),
      loadAverage: loadavg()[0]!,
    };
  };
}

/** CPU ms of this process (all threads) and of its children that have exited (wrk, init). */
export function selfCpuMs(): number {
  const text = readFileSync('/proc/self/stat', 'latin1');
  const f = text
    .slice(text.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  // f[0] is field 3: utime 14, stime 15, cutime 16, cstime 17.
  return ((f[11]! + f[12]! + f[13]! + f[14]!) * 1000) / CLK_TCK;
}

/** A server process started by the benchmark, its output in a log file. */
export class ServerProcess {
  readonly name: string;
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #logFile: string;
  readonly #stopSignal: NodeJS.Signals;

  private constructor(
    name: string,
    child: ChildProcess,
    port: number,
    logFile: string,
    stopSignal: NodeJS.Signals,
  ) {
    this.name = name;
    this.#child = child;
    this.port = port;
    this.#logFile = logFile;
    this.#stopSignal = stopSignal;
  }

  /** Spawns `command` and resolves once something accepts connections on `port`. */
  static async start(
    name: string,
    command: string,
    args: string[],
    opts: { port: number; logFile: string; stopSignal?: NodeJS.Signals; env?: NodeJS.ProcessEnv },
  ): Promise<ServerProcess> {
    const log = openSync(opts.logFile, 'a');
    const child = spawn(command, args, { stdio: ['ignore', log, log], env: opts.env });
    closeSync(log);
    const server = new ServerProcess(
      name,
      child,
      opts.port,
      opts.logFile,
      opts.stopSignal ?? 'SIGTERM',
    );
    const t0 = performance.now();
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${name} exited at start${server.logTail()}`);
      if (await canConnect(opts.port)) return server;
      if (performance.now() - t0 > START_TIMEOUT_MS) {
        await server.stop();
        throw new Error(`${name} did not listen on ${opts.port}${server.logTail()}`);
      }
      await sleep(50);
    }
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** CPU ms the server (with its child processes) has used so far; 10 ms resolution. */
  cpuMs(): number {
    return treeCpuMs(this.pid);
  }

  logTail(lines = 20): string {
    try {
      const text = readFileSync(this.#logFile, 'utf8').trimEnd().split('\n');
      return `\n--- ${this.name} log (last ${lines} lines)\n${text.slice(-lines).join('\n')}`;
    } catch {
      return '';
    }
  }

  /** The stop signal (the server closes cleanly), SIGKILL if it is still there after 10 s. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill(this.#stopSignal);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
}

/** `voicegate serve` with only the web listener on (IMAP off), warnings only in its log. */
export function startVoicegate(
  store: Pick<PreparedStore, 'configFile'>,
  opts: { port: number; tls: boolean; logFile: string; nodeArgs?: string[] },
): Promise<ServerProcess> {
  const sets = [
    `http.port=${opts.port}`,
    `http.tls=${opts.tls}`,
    'imap.port=0',
    'imap.tlsPort=0',
    'log.level=warn',
    // Every load client connects from 127.0.0.1: the per-address limit is not what is measured.
    ...BENCH_LIMITS,
  ];
  const args = [
    ...(opts.nodeArgs ?? []),
    BIN,
    '--config',
    store.configFile,
    'serve',
    ...sets.flatMap((s) => ['--set', s]),
  ];
  return ServerProcess.start('voicegate', process.execPath, args, {
    port: opts.port,
    logFile: opts.logFile,
  });
}

export const NGINX_WORKERS = 1;

export function nginxVersion(): string | null {
  const r = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  if (r.error) return null;
  return (r.stderr || r.stdout).trim().replace(/^nginx version:\s*/, '');
}

/** Debian's nginx, installed with apt-get when missing (the benchmark runs as root). */
export function ensureNginx(): { version: string; installed: boolean } {
  const found = nginxVersion();
  if (found) return { version: found, installed: false };
  if (process.getuid?.() !== 0)
    throw new Error('nginx is not installed: run `apt-get install nginx` as root');
  console.log('  nginx is missing: apt-get install -y nginx ...');
  const apt = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'nginx'], {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  const version = nginxVersion();
  if (apt.status !== 0 || !version)
    throw new Error(`apt-get install nginx failed:\n${apt.stderr || apt.stdout}`);
  return { version, installed: true };
}

/** A minimal nginx of our own: static files from `root`, `sendfile on`, no access log. */
export function startNginx(
  dir: string,
  opts: { port: number; tls: boolean; root: string; certFile: string; keyFile: string },
): Promise<ServerProcess> {
  mkdirSync(dir, { recursive: true });
  const errorLog = join(dir, 'error.log');
  const listen = `127.0.0.1:${opts.port}${opts.tls ? ' ssl' : ''}`;
  const conf = [
    // Voicegate's audio files are 0640 root's: a worker running as nobody could not read them.
    ...(process.getuid?.() === 0 ? ['user root;'] : []),
    `worker_processes ${NGINX_WORKERS};`,
    'daemon off;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${errorLog} warn;`,
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    '  sendfile on;',
    '  tcp_nopush on;',
    '  keepalive_requests 100000;',
    '  types { audio/wav wav; }',
    '  default_type application/octet-stream;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
      (t) => `  ${t}_temp_path ${join(dir, `${t}-temp`)};`,
    ),
    '  server {',
    `    listen ${listen};`,
    ...(opts.tls
      ? [
          `    ssl_certificate ${opts.certFile};`,
          `    ssl_certificate_key ${opts.keyFile};`,
          '    ssl_protocols TLSv1.2 TLSv1.3;',
        ]
      : []),
    `    root ${opts.root};`,
    '  }',
    '}',
    '',
  ].join('\n');
  const confFile = join(dir, 'nginx.conf');
  writeFileSync(confFile, conf);
  // SIGQUIT: graceful shutdown (SIGTERM is nginx's fast one; either ends the workers too).
  return ServerProcess.start('nginx', 'nginx', ['-e', errorLog, '-p', dir, '-c', confFile], {
    port: opts.port,
    logFile: join(dir, 'stdout.log'),
    stopSignal: 'SIGQUIT',
  });
}
