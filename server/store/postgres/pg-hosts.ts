import pg from 'pg';
import {
  type DatabaseHost,
  type DatabaseUrl,
  parseDatabaseUrl,
} from '../../domain/database-url.ts';
import { VoicegateError } from '../../domain/errors.ts';

/**
 * bigint columns (times in ms, modseqs, ids) as numbers: every value the store keeps is below
 * 2^53. Set per pool, not on the driver's global table, so no other user of `pg` is affected.
 */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as never,
};

/** `name`: the application_name an administrator sees in pg_stat_activity. */
export function poolOptions(url: string, name = 'voicegate'): pg.PoolConfig {
  return { connectionString: url, types: TYPES, max: 10, keepAlive: true, application_name: name };
}

/** How long one host may take to accept a connection before the next is tried. */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * The servers of `store.url` and which of them this node uses. `pg` (8.23, the newest) takes one
 * host only, so the list of libpq's form (`h1:5432,h2:5433`, `target_session_attrs`) is ours: a
 * connection tries each host in turn, from the one that last fitted, and keeps the first that
 * answers and, unless the target is `any`, takes writes (not a standby in recovery, not
 * read-only). When a connection to the chosen host fails, or a host turns out to be a standby,
 * the choice is forgotten and the next connection looks again: after a standby's promotion the
 * pool, the change feed's LISTEN connection and the leader lease all end up on the new primary.
 */
export class PgHosts {
  readonly #list: DatabaseUrl;
  /** The host that last fitted, tried first; null once it failed. */
  #current: number | null = null;
  #finding: Promise<DatabaseHost> | null = null;

  constructor(url: string) {
    this.#list = parseDatabaseUrl(url);
  }

  /** Whether a connection must be checked (several hosts, or a target other than `any`). */
  get checked(): boolean {
    return this.#list.hosts.length > 1 || this.#list.target !== 'any';
  }

  /** The choice is stale (its server went away): the next connection looks again. */
  forget(): void {
    this.#current = null;
  }

  /** A connected client on a host that fits, trying each in turn. */
  async connect(name: string): Promise<pg.Client> {
    const { hosts } = this.#list;
    const start = this.#current ?? 0;
    const reasons: string[] = [];
    for (let n = 0; n < hosts.length; n++) {
      const i = (start + n) % hosts.length;
      const host = hosts[i]!;
      const client = new pg.Client({
        ...poolOptions(host.url, name),
        connectionTimeoutMillis: this.checked ? CONNECT_TIMEOUT_MS : 0,
      });
      // Until its user listens, a lost connection is no crash.
      client.on('error', () => {});
      try {
        await client.connect();
        const unfit = await this.#unfit(client);
        if (!unfit) {
          this.#current = i;
          return client;
        }
        reasons.push(`${host.host}:${host.port} ${unfit}`);
      } catch (err) {
        if (!this.checked) throw err;
        reasons.push(`${host.host}:${host.port}: ${(err as Error).message}`);
      }
      await client.end().catch(() => {});
    }
    throw new VoicegateError('UNAVAILABLE', 'the store is unavailable; try again', {
      cause: new Error(`no server takes writes (${reasons.join('; ')})`),
    });
  }

  /**
   * Options of a pool whose connections go to the host `connect` finds (looked for once, then
   * kept until it fails) and are checked when they open.
   */
  poolConfig(name = 'voicegate'): pg.PoolConfig {
    const first = this.#list.hosts[0]!;
    const base = poolOptions(first.url, name);
    if (!this.checked) return base;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the client class needs the list
    const hosts = this;
    class HostClient extends pg.Client {
      override connect(): Promise<pg.Client>;
      // @ts-expect-error pg's callback type is a union no implementation can take; the pool passes (err, client) => void
      override connect(done: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): void;
      override connect(
        done?: (err: Error | null, c?: pg.Client) => void,
      ): Promise<pg.Client> | void {
        const opened = hosts.#pick(name).then(async (h) => {
          this.host = h.host;
          this.port = h.port;
          await super.connect();
          return this;
        });
        opened.catch(() => hosts.forget());
        if (!done) return opened;
        opened.then(
          (c) => done(null, c),
          (err: unknown) => done(err as Error),
        );
      }
    }
    return {
      ...base,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      Client: HostClient as never,
      onConnect: (async (client: pg.ClientBase) => {
        const unfit = await this.#unfit(client);
        if (unfit) {
          this.forget();
          throw new VoicegateError('UNAVAILABLE', 'the store is unavailable; try again', {
            cause: new Error(`the server ${unfit}`),
          });
        }
      }) as never,
    };
  }

  /** The host to open pool connections on: the last that fitted, or the first found to fit. */
  async #pick(name: string): Promise<DatabaseHost> {
    if (this.#current !== null) return this.#list.hosts[this.#current]!;
    this.#finding ??= this.connect(`${name}-probe`)
      .then(async (probe) => {
        await probe.end().catch(() => {});
        return this.#list.hosts[this.#current ?? 0]!;
      })
      .finally(() => {
        this.#finding = null;
      });
    return this.#finding;
  }

  /** Why this server does not fit the target (a standby, read-only), or null. */
  async #unfit(client: pg.ClientBase): Promise<string | null> {
    if (this.#list.target === 'any') return null;
    const { rows } = await client.query<{ standby: boolean; read_only: boolean }>(
      `SELECT pg_is_in_recovery() AS standby, current_setting('transaction_read_only') = 'on' AS read_only`,
    );
    const row = rows[0]!;
    if (row.standby) return 'is a standby in recovery';
    if (this.#list.target === 'read-write' && row.read_only) return 'is read-only';
    return null;
  }
}
