import { randomBytes } from 'node:crypto';
import type { AudioStore, ChangeFeed } from '../domain/ports.ts';
import {
  applyHashes,
  diffReplica,
  replicaDigest,
  RESNAPSHOT_MARK,
  takeChunk,
  type ReplicaChange,
  type ReplicaHashes,
  type ReplicaKind,
  type ReplicaOp,
} from '../domain/replica.ts';
import type { FlowsFile, ReplicaService } from '../domain/replica-service.ts';
import type { Logger } from '../log.ts';
import type { SmtpError, PeerMailer } from './peer-mailer.ts';
import type { Peer } from './peer-set.ts';
import type { JsonFile } from './replica-files.ts';
import { replicaBody } from './sync-mail.ts';

/** What a peer confirmed (a 250 to each change), kept durably on the sender. */
export interface SentRecord {
  epoch: string;
  version: number;
  /** The snapshot that began the epoch has been confirmed whole. */
  snapshotDone: boolean;
  hashes: ReplicaHashes;
  /** This server's digest at `version`, and the one the peer said it has after applying it. */
  digest: string;
  peerDigest: string | null;
  confirmedAt: number;
}

/** One peer the central keeps in step, and what it takes. */
export interface ReplicaPeer {
  peer: Peer;
  kinds: readonly ReplicaKind[];
  /** The call flows it takes (the central's own for a backup), or null. */
  flows: FlowsFile | null;
  record: JsonFile<SentRecord>;
  /** The mailboxes it takes (a distributed server's `mailboxes`); absent: all. */
  only?: (mailbox: string) => boolean;
}

export interface ReplicatorOptions {
  peers: readonly ReplicaPeer[];
  replica: Pick<ReplicaService, 'items'>;
  audio: Pick<AudioStore, 'read' | 'size'>;
  mailer: Pick<PeerMailer, 'send'>;
  feed: ChangeFeed;
  log: Logger;
  /** After a failure, the next try (`topology.retrySeconds`). */
  retryMs: number;
  /** How often to look for changes the journal does not announce (codes, the flows file). */
  scanMs?: number;
  /** Audio and steps per mail, at most (one greeting larger than it goes alone). */
  chunkBytes?: number;
  now?: () => number;
  /** Whether this node sends now (the once-only seam), asked at every look. */
  runsHere?: () => boolean;
}

/** The peer's digest in its 250 reply (`... digest <hex>`). */
const DIGEST_IN_REPLY = /digest ([0-9a-f]{64})/;

/**
 * Keeps the backup and the distributed servers in step with this central: per peer, the
 * differences between what the peer confirmed and what is here now go as versioned changes,
 * one signed sync mail at a time, in order; the first changes of an epoch are a snapshot. What
 * the peer confirmed is kept in the data folder after each 250, so after any interruption
 * (either side stopped, the link cut) the next change is the one after it. A peer that lost its
 * place says so, and gets a new snapshot.
 */
export class Replicator {
  readonly #o: ReplicatorOptions;
  readonly #pumps = new Map<string, { running: boolean; again: boolean }>();
  readonly #retry = new Map<string, NodeJS.Timeout>();
  readonly #lastError = new Map<string, string>();
  #timer: NodeJS.Timeout | null = null;
  #unsubscribe: (() => void) | null = null;
  #stopped = false;
  readonly #running = new Set<Promise<void>>();

  constructor(opts: ReplicatorOptions) {
    this.#o = opts;
  }

  start(): void {
    this.#unsubscribe = this.#o.feed.subscribe(() => this.poke());
    this.#timer = setInterval(() => this.poke(), this.#o.scanMs ?? 5000);
    this.#timer.unref();
    this.poke();
  }

  /** Looks for changes for every peer now. */
  poke(): void {
    if (this.#o.runsHere && !this.#o.runsHere()) return;
    for (const p of this.#o.peers) this.#pump(p);
  }

  /** Why the last attempt to a peer failed, while it is failing. */
  lastError(peer: string): string | null {
    return this.#lastError.get(peer) ?? null;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    if (this.#timer) clearInterval(this.#timer);
    for (const t of this.#retry.values()) clearTimeout(t);
    await Promise.allSettled([...this.#running]);
  }

  #pump(p: ReplicaPeer): void {
    if (this.#stopped) return;
    const name = p.peer.name;
    const state = this.#pumps.get(name) ?? { running: false, again: false };
    this.#pumps.set(name, state);
    if (this.#retry.has(name)) return; // waiting after a failure: the retry pokes
    if (state.running) {
      state.again = true;
      return;
    }
    state.running = true;
    const run = this.#sendAll(p)
      .catch((err: unknown) => {
        const e = err as SmtpError;
        const why = e.response ?? e.message;
        if (this.#lastError.get(name) !== why)
          this.#o.log.warn({ peer: name, err: why }, 'replication: will try again');
        this.#lastError.set(name, why);
        if (this.#stopped) return;
        this.#retry.set(
          name,
          setTimeout(() => {
            this.#retry.delete(name);
            this.#pump(p);
          }, this.#o.retryMs),
        );
      })
      .finally(() => {
        state.running = false;
        this.#running.delete(run);
        if (state.again && !this.#stopped) {
          state.again = false;
          this.#pump(p);
        }
      });
    this.#running.add(run);
  }

  /** Sends changes until the peer has everything here, or one fails (thrown). */
  async #sendAll(p: ReplicaPeer): Promise<void> {
    for (;;) {
      if (this.#stopped) return;
      const sent = await this.#sendOne(p);
      if (!sent) return;
      this.#lastError.delete(p.peer.name);
    }
  }

  /** Sends the next change; false when the peer has everything already. */
  async #sendOne(p: ReplicaPeer): Promise<boolean> {
    const record = (await p.record.read()) ?? {
      epoch: randomBytes(8).toString('hex'),
      version: 0,
      snapshotDone: false,
      hashes: {},
      digest: replicaDigest({}),
      peerDigest: null,
      confirmedAt: 0,
    };
    const { items, audio } = await this.#o.replica.items(p.kinds, p.flows, p.only);
    const ops = diffReplica(record.hashes, items);
    if (ops.length === 0 && record.snapshotDone) return false;
    const sizes = new Map<string, number>();
    for (const i of items)
      if (i.content.kind === 'greeting') {
        const key = audio.get(i.content.sha256);
        // The audio's size, as base64 in the mail.
        if (key) sizes.set(i.content.sha256, Math.ceil((await this.#o.audio.size(key)) * 1.4));
      }
    const sizeOf = (op: ReplicaOp): number =>
      200 +
      (op.op === 'put' ? JSON.stringify(op.content).length : op.key.length) +
      (op.op === 'put' && op.content.kind === 'greeting' ? (sizes.get(op.content.sha256) ?? 0) : 0);
    const chunk = takeChunk(ops, this.#o.chunkBytes ?? 4 * 1024 * 1024, sizeOf);
    const last = chunk.length === ops.length;
    const hashes = applyHashes(record.hashes, chunk);
    const change: ReplicaChange = {
      epoch: record.epoch,
      version: record.version + 1,
      snapshot: !record.snapshotDone,
      kinds: [...p.kinds],
      ...(!record.snapshotDone && last ? { complete: Object.keys(hashes) } : {}),
      ops: chunk,
      digest: replicaDigest(hashes),
    };
    const bytes = new Map<string, Uint8Array>();
    for (const op of chunk)
      if (op.op === 'put' && op.content.kind === 'greeting') {
        const key = audio.get(op.content.sha256)!;
        bytes.set(op.content.sha256, await this.#o.audio.read(key));
      }
    const identity = `replica.${change.epoch}.${change.version}@${p.peer.name}`;
    let reply: string;
    try {
      reply = await this.#o.mailer.send(p.peer, 'replica', identity, replicaBody(change, bytes));
    } catch (err) {
      if (((err as SmtpError).response ?? '').includes(RESNAPSHOT_MARK)) {
        this.#o.log.info({ peer: p.peer.name }, 'replication: the peer asks for a new snapshot');
        await p.record.write(null);
        return true;
      }
      throw err;
    }
    await p.record.write({
      epoch: change.epoch,
      version: change.version,
      snapshotDone: record.snapshotDone || last,
      hashes,
      digest: change.digest,
      peerDigest: DIGEST_IN_REPLY.exec(reply)?.[1] ?? null,
      confirmedAt: this.#o.now?.() ?? Date.now(),
    });
    this.#o.log.info(
      {
        peer: p.peer.name,
        version: change.version,
        steps: chunk.length,
        snapshot: change.snapshot,
      },
      'replication: change confirmed',
    );
    return true;
  }
}
