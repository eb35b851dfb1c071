import { VoicegateError } from '../domain/errors.ts';
import {
  judgeChange,
  REPLICA_KINDS,
  RESNAPSHOT_MARK,
  type ReplicaChange,
  type ReplicaPosition,
} from '../domain/replica.ts';
import type { FlowsFile, ReplicaService } from '../domain/replica-service.ts';
import type { Logger } from '../log.ts';
import type { JsonFile } from './replica-files.ts';

export interface ReplicaReceiverDeps {
  service: Pick<ReplicaService, 'apply' | 'digest'>;
  /** This server's call flows file. */
  flows: FlowsFile | null;
  /** Where this server is in a sender's changes, kept durably. */
  position(peer: string): JsonFile<ReplicaPosition>;
  now?: () => number;
}

/**
 * The central's versioned changes applied on a backup or distributed server: in order, each
 * once (a resend is acknowledged), the place reached kept durably after each, so the central
 * resends from there after any interruption. The reply states this server's digest after the
 * change, which the central compares with its own.
 */
export class ReplicaReceiver {
  readonly #deps: ReplicaReceiverDeps;
  readonly #log: Logger;
  /** One change at a time: a resend may arrive while the first is still being applied. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(deps: ReplicaReceiverDeps, log: Logger) {
    this.#deps = deps;
    this.#log = log;
  }

  receive(peer: string, change: ReplicaChange, audio: Map<string, Buffer>): Promise<string> {
    const run = this.#queue.then(() => this.#receive(peer, change, audio));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #receive(peer: string, change: ReplicaChange, audio: Map<string, Buffer>): Promise<string> {
    const kinds = change.kinds.filter((k) => (REPLICA_KINDS as readonly string[]).includes(k));
    const record = this.#deps.position(peer);
    const at = await record.read();
    const verdict = judgeChange(at, change);
    const name = `replica ${change.epoch}/${change.version}`;
    if (verdict.action === 'ack') return `${name} applied before; digest ${at!.localDigest}`;
    if (verdict.action === 'wait')
      throw new VoicegateError(
        'UNAVAILABLE',
        `${name} is early: expecting version ${verdict.expected}`,
      );
    if (verdict.action === 'resnapshot') {
      this.#log.warn({ peer, epoch: change.epoch, version: change.version }, RESNAPSHOT_MARK);
      throw new VoicegateError('UNAVAILABLE', `${name}: ${RESNAPSHOT_MARK}`);
    }
    await this.#deps.service.apply(
      change.ops,
      (sha) => audio.get(sha),
      this.#deps.flows,
      change.complete ? { keep: change.complete, kinds } : undefined,
    );
    const localDigest = await this.#deps.service.digest(kinds, this.#deps.flows);
    const position: ReplicaPosition = {
      epoch: change.epoch,
      version: change.version,
      kinds,
      digest: change.digest,
      localDigest,
      complete: (at?.epoch === change.epoch && at.complete) || change.complete !== undefined,
      appliedAt: this.#deps.now?.() ?? Date.now(),
    };
    await record.write(position);
    const inStep = localDigest === change.digest;
    this.#log[inStep || !position.complete ? 'info' : 'warn'](
      { peer, version: change.version, steps: change.ops.length, inStep },
      inStep || !position.complete
        ? 'replication: change applied'
        : 'replication: change applied, but the digests differ',
    );
    return `${name} applied; digest ${localDigest}`;
  }
}
