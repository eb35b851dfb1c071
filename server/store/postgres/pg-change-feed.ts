import type pg from 'pg';
import type { ChangeFeed } from '../../domain/ports.ts';
import { JOURNAL_CHANNEL } from './pg-access.ts';
import { PgHosts } from './pg-hosts.ts';

type Listener = (mailboxId: number, modseq: number) => void;

/** Reconnection delays: quick at first (a restarted server), then every 2 s. */
const RETRY_MS = [100, 250, 500, 1000, 2000];

/**
 * The change feed across nodes. The journal rows are the truth; NOTIFY, sent by each committing
 * transaction, is only a wake-up, and notifications sent while the listening connection is down
 * are lost. So the feed remembers the highest modseq it has seen per mailbox, and each time its
 * connection (re)starts listening it reads every mailbox's modseq and wakes those that moved on
 * (or were removed) meanwhile. It listens from the moment the store opens, so a subscriber
 * hears every change committed after it subscribed. The connection goes to the primary: hot
 * standbys refuse LISTEN.
 */
export class PgChangeFeed implements ChangeFeed {
  readonly #hosts: PgHosts;
  readonly #onError: (err: unknown) => void;
  readonly #listeners = new Set<Listener>();
  /** Highest modseq seen per mailbox. */
  readonly #seen = new Map<number, number>();
  #client: pg.Client | null = null;
  #stopped = false;
  #retry = 0;
  #timer: NodeJS.Timeout | undefined;
  /** How many times the connection started listening (the first time included). */
  connects = 0;

  constructor(url: string, opts: { onError?: (err: unknown) => void } = {}) {
    this.#hosts = new PgHosts(url);
    this.#onError = opts.onError ?? (() => {});
  }

  /** Listens and reads where every mailbox is; resolves once both are done (or throws). */
  async start(): Promise<void> {
    await this.#connect();
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The backend process id of the listening connection (for tests that cut it). */
  get backendPid(): number | null {
    return (this.#client as unknown as { processID?: number } | null)?.processID ?? null;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const client = await this.#hosts.connect('voicegate-feed');
    client.on('notification', (n) => this.#notified(n.payload ?? ''));
    const lost = (err?: unknown): void => {
      if (this.#client !== client) return;
      this.#client = null;
      if (err) this.#onError(err);
      client.end().catch(() => {});
      this.#reconnectLater();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.query(`LISTEN ${JOURNAL_CHANNEL}`);
      this.#client = client;
      // Listening first, then reading: whatever commits in between is in one or the other.
      const rows = await client.query<{ id: number; modseq: number }>(
        'SELECT id, modseq FROM mailbox',
      );
      this.#catchUp(rows.rows);
      this.#retry = 0;
      this.connects++;
    } catch (err) {
      if (this.#client === client) this.#client = null;
      await client.end().catch(() => {});
      throw err;
    }
  }

  #reconnectLater(): void {
    if (this.#stopped) return;
    const delay = RETRY_MS[Math.min(this.#retry++, RETRY_MS.length - 1)]!;
    this.#timer = setTimeout(() => {
      this.#connect().catch((err: unknown) => {
        this.#onError(err);
        this.#reconnectLater();
      });
    }, delay);
    this.#timer.unref();
  }

  /** After (re)connecting: wake what moved on while nobody listened; learn the rest. */
  #catchUp(rows: { id: number; modseq: number }[]): void {
    const first = this.connects === 0;
    const present = new Set<number>();
    for (const { id, modseq } of rows) {
      present.add(id);
      const seen = this.#seen.get(id);
      if (first || seen === undefined) {
        // At the first start nothing was missed; a mailbox new since a reconnect was.
        if (!first) this.#wake(id, modseq);
        else this.#seen.set(id, modseq);
      } else if (modseq > seen) this.#wake(id, modseq);
    }
    for (const [id, modseq] of this.#seen)
      if (!present.has(id)) {
        this.#seen.delete(id);
        this.#wake(id, modseq);
      }
  }

  #notified(payload: string): void {
    const [id, modseq] = payload.split(':').map(Number);
    if (!Number.isInteger(id) || !Number.isInteger(modseq)) return;
    if (modseq === 0) this.#seen.delete(id!);
    this.#wake(id!, modseq!);
  }

  #wake(mailboxId: number, modseq: number): void {
    if (modseq > 0) this.#seen.set(mailboxId, Math.max(modseq, this.#seen.get(mailboxId) ?? 0));
    for (const listener of this.#listeners) {
      try {
        listener(mailboxId, modseq);
      } catch (err) {
        this.#onError(err);
      }
    }
  }
}
