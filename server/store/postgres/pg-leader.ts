import type pg from 'pg';
import type { OnceWork, RunOnce } from '../../domain/run-once.ts';
import { PgHosts } from './pg-hosts.ts';

/** The advisory lock whose holder is the installation's leader ('vgld'). */
const LEADER_LOCK = 0x76676c64;

/**
 * Work that runs once across nodes sharing one PostgreSQL store. The delivery queue needs no
 * leader: each item is claimed with a row lock and a lease, so every node sends, and none twice.
 * Housekeeping, the PBX's lamps and its registration go to the leader: the node whose own
 * connection holds a session advisory lock. PostgreSQL frees the lock when that connection
 * ends (its node died or was cut off), and another node takes it at its next try, every
 * `tryEveryMs`. The leader checks its connection as often and stops leading as soon as a check
 * fails or takes longer than that, so two nodes lead at once for at most about one period.
 */
export class PgLeaderLease implements RunOnce {
  readonly #hosts: PgHosts;
  readonly #everyMs: number;
  readonly #onChange: (leader: boolean) => void;
  #client: pg.Client | null = null;
  #leader = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #busy = false;

  constructor(
    url: string,
    opts: { tryEveryMs?: number; onChange?: (leader: boolean) => void } = {},
  ) {
    this.#hosts = new PgHosts(url);
    this.#everyMs = opts.tryEveryMs ?? 1000;
    this.#onChange = opts.onChange ?? (() => {});
  }

  runsHere(work: OnceWork): boolean {
    return work === 'delivery' || this.#leader;
  }

  get leader(): boolean {
    return this.#leader;
  }

  /** Tries at once, then every period. */
  async start(): Promise<void> {
    await this.#tick();
    this.#timer = setInterval(() => void this.#tick(), this.#everyMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#set(false);
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => {});
  }

  #set(leader: boolean): void {
    if (leader === this.#leader) return;
    this.#leader = leader;
    this.#onChange(leader);
  }

  async #tick(): Promise<void> {
    if (this.#busy || this.#stopped) return;
    this.#busy = true;
    try {
      const client = await this.#connection();
      const ask = this.#leader
        ? client.query('SELECT 1')
        : client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1) AS got', [LEADER_LOCK]);
      const answer = await withDeadline(ask, this.#everyMs);
      if (!this.#leader) this.#set((answer.rows[0] as { got: boolean }).got === true);
    } catch {
      // No answer in time, or no connection: not the leader. A fresh connection holds nothing.
      this.#set(false);
      const client = this.#client;
      this.#client = null;
      await client?.end().catch(() => {});
    } finally {
      this.#busy = false;
    }
  }

  async #connection(): Promise<pg.Client> {
    if (this.#client) return this.#client;
    const connecting = this.#hosts.connect('voicegate-leader');
    const client = await withDeadline(connecting, this.#everyMs * 2).catch((err: unknown) => {
      // A connection made after the deadline is closed, never left holding a session.
      void connecting.then((late) => late.end()).catch(() => {});
      throw err;
    });
    client.on('error', () => {
      if (this.#client !== client) return;
      this.#client = null;
      this.#set(false);
    });
    this.#client = client;
    return client;
  }
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer in time')), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
