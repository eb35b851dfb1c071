/**
 * The processes of the smtp benchmark and their stores: Voicegate (`voicegate serve` on a store
 * made with `voicegate init --dir`, mailboxes and queued mail added through the domain, as the
 * CLI would), SMTP reception alone (smtp-reception.ts), the loopback SMTP sink (smtp-sink.ts) that
 * Voicegate's outbound copies go to, and how busy they keep the machine.
 */
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../server/config/load.ts';
import { createContext, type Context } from '../../server/context.ts';
import { createLogger } from '../../server/log.ts';
import { BIN, runCli } from '../helpers/cli.ts';
import { prepareFanOut } from './fsync-yardstick.ts';
import { freePort, ServerProcess } from './web-servers.ts';
import { BENCH_LIMITS, PROJECT_DIR } from './bench-kit.ts';
import { embedded } from '../store/embedded.ts';
import { missingServerFlags, serverEnv } from '../../bin/server-flags.js';

export const CODE = '13572468';
const SINK = fileURLToPath(new URL('./smtp-sink.ts', import.meta.url));
const RECEPTION = fileURLToPath(new URL('./smtp-reception.ts', import.meta.url));
/** Set to a folder to run the servers with --cpu-prof and keep their profiles there. */
const CPU_PROF_ENV = 'SMTP_BENCH_CPU_PROF';

/** One mail as the sink saw it; times in ms since the epoch. */
export interface SinkRecord {
  /** The end of the data (the sink answers 250 right after). */
  at: number;
  /** DATA began. */
  dataAt: number;
  /** The connection that carried it was accepted. */
  connectedAt: number;
  bytes: number;
  /** Under TLS (after STARTTLS). */
  secure: boolean;
  from: string;
}

export interface VoicegateStore {
  configFile: string;
  dataDir: string;
  certFile: string;
  keyFile: string;
  /** `server.domain`: the only mail domain the SMTP listener accepts. */
  domain: string;
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `voicegate init --dir` (config and self-signed certificate); the store opens on first use. */
export async function initStore(dir: string): Promise<VoicegateStore> {
  const init = await runCli(['init', '--dir', dir]);
  if (init.code !== 0) throw new Error(`voicegate init failed: ${init.stderr || init.stdout}`);
  const configFile = join(dir, 'voicegate.yaml');
  const loaded = loadConfig(configFile);
  return {
    configFile,
    dataDir: loaded.dataDir,
    certFile: loaded.tlsCert,
    keyFile: loaded.tlsKey,
    domain: loaded.config.server.domain,
  };
}

/**
 * The store's domain context in this process, with the 256 audio fan-out folders made: a store
 * in use already has them, and a new one would fsync the audio root the first time it makes
 * each (deposit.ts does the same).
 */
export async function openContext(store: VoicegateStore): Promise<Context> {
  const ctx = await createContext(loadConfig(store.configFile), createLogger('silent'));
  prepareFanOut(embedded(ctx).audio.root);
  fsyncPath(embedded(ctx).audio.root);
  return ctx;
}

/** Messages in the store, per mailbox name (every folder). */
export function storedPerMailbox(store: VoicegateStore): Map<string, number> {
  const db = new DatabaseSync(join(store.dataDir, 'voicegate.db'), { readOnly: true });
  try {
    const rows = db
      .prepare(
        'SELECT mb.name AS name, COUNT(m.id) AS n FROM mailbox mb LEFT JOIN message m ON m.mailbox_id = mb.id GROUP BY mb.id',
      )
      .all() as { name: string; n: number }[];
    return new Map(rows.map((r) => [r.name, Number(r.n)]));
  } finally {
    db.close();
  }
}

/** A read-only look at the outbound queue while the server runs (WAL: readers never block it). */
export class QueueWatch {
  readonly #db: DatabaseSync;

  constructor(store: VoicegateStore) {
    this.#db = new DatabaseSync(join(store.dataDir, 'voicegate.db'), { readOnly: true });
  }

  counts(): { pending: number; failed: number; attempted: number } {
    const row = this.#db
      .prepare(
        "SELECT COALESCE(SUM(status = 'pending'), 0) AS pending, COALESCE(SUM(status = 'failed'), 0) AS failed, COALESCE(SUM(attempts > 0), 0) AS attempted FROM delivery",
      )
      .get() as { pending: number; failed: number; attempted: number };
    return {
      pending: Number(row.pending),
      failed: Number(row.failed),
      attempted: Number(row.attempted),
    };
  }

  close(): void {
    this.#db.close();
  }
}

export async function addMailboxes(
  store: VoicegateStore,
  boxes: { name: string; extension: string; email?: string }[],
): Promise<void> {
  const ctx = await openContext(store);
  try {
    for (const b of boxes) {
      await ctx.mailboxes.add({ ...b, ...(b.email ? { emailMode: 'copy' as const } : {}) }, CODE);
    }
  } finally {
    await ctx.close();
  }
}

/** Node flags for a server: --cpu-prof into DIR/`name` when SMTP_BENCH_CPU_PROF=DIR. */
export function profilingArgs(name: string): string[] {
  const dir = process.env[CPU_PROF_ENV];
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, name)}`] : [];
}

/**
 * Which smtp-server code Voicegate and reception alone both run: the installed package's
 * version and the patch applied to it at install (patches/).
 */
export function smtpServerCode(): string {
  const pkg = JSON.parse(
    readFileSync(join(PROJECT_DIR, 'node_modules', 'smtp-server', 'package.json'), 'utf8'),
  ) as { version: string };
  const patch = readdirSync(join(PROJECT_DIR, 'patches')).find((f) => f.startsWith('smtp-server+'));
  return `smtp-server ${pkg.version}${patch ? ` with patches/${patch}` : ' unpatched'}`;
}

/**
 * `voicegate serve` with the SMTP listener on `smtpPort`, warnings only in its log, and the
 * given extra `--set`s. Port 0 (HTTP, IMAP, SIP) picks a free one: they cannot be turned off.
 */
export async function startVoicegate(
  store: VoicegateStore,
  opts: { smtpPort?: number; sets?: string[]; logFile: string; nodeArgs?: string[] },
): Promise<ServerProcess> {
  const port = opts.smtpPort ?? (await freePort());
  const sets = [
    `smtp.port=${port}`,
    'http.port=0',
    'imap.port=0',
    'imap.tlsPort=0',
    'sip.port=0',
    'log.level=warn',
    // Every sender connects from 127.0.0.1: the per-address limit is not what is measured.
    ...BENCH_LIMITS,
    ...(opts.sets ?? []),
  ];
  const args = [
    ...(opts.nodeArgs ?? []),
    BIN,
    '--config',
    store.configFile,
    'serve',
    ...sets.flatMap((s) => ['--set', s]),
  ];
  return ServerProcess.start('voicegate', process.execPath, args, { port, logFile: opts.logFile });
}

/**
 * SMTP reception alone (smtp-reception.ts), with the node flags and environment `voicegate
 * serve` gives itself (bin/server-flags.js), STARTTLS with the store's certificate.
 */
export async function startReception(
  store: VoicegateStore,
  logFile: string,
  nodeArgs: string[] = [],
): Promise<ServerProcess> {
  const port = await freePort();
  const args = [
    ...nodeArgs,
    ...missingServerFlags([], undefined),
    RECEPTION,
    String(port),
    store.certFile,
    store.keyFile,
  ];
  return ServerProcess.start('reception', process.execPath, args, {
    port,
    logFile,
    env: serverEnv(process.env),
  });
}

/** The sink process, the mails it has seen, and the first one's bytes. */
export class Sink {
  readonly process: ServerProcess;
  readonly captureFile: string;
  readonly tls: boolean;
  readonly #logFile: string;

  private constructor(child: ServerProcess, logFile: string, captureFile: string, tls: boolean) {
    this.process = child;
    this.#logFile = logFile;
    this.captureFile = captureFile;
    this.tls = tls;
  }

  /** In `dir`; with a certificate it offers STARTTLS, else no TLS. */
  static async start(
    dir: string,
    name: string,
    cert?: { certFile: string; keyFile: string },
  ): Promise<Sink> {
    const port = await freePort();
    const logFile = join(dir, `${name}.log`);
    const captureFile = join(dir, `${name}.eml`);
    const args = [SINK, String(port), captureFile, ...(cert ? [cert.certFile, cert.keyFile] : [])];
    const child = await ServerProcess.start(name, process.execPath, args, { port, logFile });
    return new Sink(child, logFile, captureFile, cert !== undefined);
  }

  get port(): number {
    return this.process.port;
  }

  /** Where the records written so far end: `records(mark)` later gives only newer ones. */
  mark(): number {
    return statSync(this.#logFile).size;
  }

  records(from = 0): SinkRecord[] {
    return readFileSync(this.#logFile)
      .subarray(from)
      .toString('utf8')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as SinkRecord);
  }

  /** The first mail the sink received, byte for byte. */
  captured(): Buffer {
    return readFileSync(this.captureFile);
  }
}
