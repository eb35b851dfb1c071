import { execFile } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './free-port.ts';

const run = promisify(execFile);

/** Debian's PostgreSQL 15 (`apt-get install postgresql`, done by scripts/install-test-tools.sh). */
export const PG_BIN = '/usr/lib/postgresql/15/bin';

/**
 * A PostgreSQL cluster of its own in a temporary folder, on a free port of 127.0.0.1 and a unix
 * socket in that folder: started by `startPgCluster`, stopped and removed by `stop`.
 */
export interface PgCluster {
  port: number;
  dir: string;
  /** A URL of the cluster's `postgres` database, or of `database`. */
  url(database?: string): string;
  /** A new, empty database; returns its URL. */
  createDatabase(): Promise<string>;
  /** Runs one SQL statement as the superuser (e.g. pg_terminate_backend), in `database`. */
  query<T extends pg.QueryResultRow>(
    sql: string,
    params?: unknown[],
    database?: string,
  ): Promise<T[]>;
  /** Stops the server fast (clients cut), or with `immediate` as a crash would. */
  stopServer(mode?: 'fast' | 'immediate'): Promise<void>;
  startServer(): Promise<void>;
  /** A standby of this cluster: ends its recovery and becomes a primary (`pg_ctl promote`). */
  promote(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * PostgreSQL refuses to run as root: as root, its programs run as the `postgres` user (which
 * Debian's package creates); as anyone else, as that user.
 */
function asServerUser(cmd: string, args: string[]): [string, string[]] {
  if (userInfo().uid !== 0) return [cmd, args];
  return ['runuser', ['-u', 'postgres', '--', cmd, ...args]];
}

async function pgRun(cmd: string, args: string[]): Promise<string> {
  const [file, argv] = asServerUser(join(PG_BIN, cmd), args);
  try {
    const { stdout } = await run(file, argv, { timeout: 60_000 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} failed: ${e.stderr || e.message}`);
  }
}

let databases = 0;

function checkInstalled(): void {
  if (!existsSync(join(PG_BIN, 'initdb')))
    throw new Error(
      `PostgreSQL 15 is not installed (no ${PG_BIN}/initdb): run scripts/install-test-tools.sh or apt-get install postgresql`,
    );
}

/** A temporary folder the server user owns. */
async function serverDir(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'voicegate-pg-'));
  if (userInfo().uid === 0) {
    const { uid, gid } = await serverUser();
    chownSync(dir, uid, gid);
  }
  return dir;
}

export async function startPgCluster(
  opts: { settings?: Record<string, string | number> } = {},
): Promise<PgCluster> {
  checkInstalled();
  const dir = await serverDir();
  const data = join(dir, 'data');
  await pgRun('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
  return runCluster(dir, opts.settings);
}

/**
 * A streaming standby of `primary` (pg_basebackup -R) in a folder of its own, on a free port,
 * started. With `synchronous`, the primary then waits for it at every commit
 * (`synchronous_standby_names = '*'`, `synchronous_commit` on, its default): a commit the
 * primary acknowledged is on the standby too.
 */
export async function startPgStandby(
  primary: PgCluster,
  opts: { synchronous?: boolean } = {},
): Promise<PgCluster> {
  checkInstalled();
  const dir = await serverDir();
  const data = join(dir, 'data');
  await pgRun('pg_basebackup', [
    ...['-D', data, '-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres'],
    ...['-R', '-X', 'stream', '--no-sync', '--checkpoint=fast'],
  ]);
  const standby = await runCluster(dir, { cluster_name: "'standby'" });
  if (opts.synchronous) {
    await primary.query("ALTER SYSTEM SET synchronous_standby_names = '*'");
    await primary.query('SELECT pg_reload_conf()');
    const deadline = Date.now() + 30_000;
    for (;;) {
      const rows = await primary.query<{ sync_state: string }>(
        'SELECT sync_state FROM pg_stat_replication',
      );
      if (rows.some((r) => r.sync_state === 'sync')) break;
      if (Date.now() > deadline) throw new Error('the standby did not become synchronous');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return standby;
}

/** Runs the cluster whose data folder is `dir`/data, with `settings` appended to its own. */
async function runCluster(
  dir: string,
  extra: Record<string, string | number> = {},
): Promise<PgCluster> {
  const data = join(dir, 'data');
  const port = await freePort();
  const settings: Record<string, string | number> = {
    listen_addresses: "'127.0.0.1'",
    port,
    unix_socket_directories: `'${dir}'`,
    max_connections: 200,
    shared_buffers: "'32MB'",
    ...extra,
  };
  // Appended to the cluster's own settings, which the server reads at each start.
  appendFileSync(
    join(data, 'postgresql.conf'),
    Object.entries(settings)
      .map(([k, v]) => `${k} = ${v}\n`)
      .join(''),
  );
  const log = join(dir, 'server.log');
  const startServer = async (): Promise<void> => {
    await pgRun('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', 'start']);
  };
  const stopServer = async (mode: 'fast' | 'immediate' = 'fast'): Promise<void> => {
    await pgRun('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
  };
  await startServer();
  const url = (database = 'postgres'): string =>
    `postgresql://postgres@127.0.0.1:${port}/${database}`;
  const query = async <T extends pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
    database?: string,
  ) => {
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  };
  let stopped = false;
  return {
    port,
    dir,
    url,
    async createDatabase() {
      const name = `t${process.pid}_${++databases}`;
      await query(`CREATE DATABASE ${name}`);
      return url(name);
    },
    query,
    stopServer,
    startServer,
    async promote() {
      await pgRun('pg_ctl', ['-D', data, '-w', '-t', '60', 'promote']);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopServer('immediate').catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function serverUser(): Promise<{ uid: number; gid: number }> {
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: g } = await run('id', ['-g', 'postgres']);
  return { uid: Number(stdout.trim()), gid: Number(g.trim()) };
}
