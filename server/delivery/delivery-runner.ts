import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  leaseFor,
  type DeliveryResult,
  type DeliveryTarget,
  type QueueItem,
  type TargetKind,
} from '../domain/delivery.ts';
import type { DeliveryService } from '../domain/delivery-service.ts';
import { VoicegateError } from '../domain/errors.ts';
import type { Logger } from '../log.ts';

/** A target and the limits it runs under (from `delivery.targets.<kind>`). */
export interface TargetRegistration {
  target: DeliveryTarget;
  /** How long one delivery may take before it counts as a temporary failure. */
  timeoutMs: number;
  /** How many deliveries to this target may be under way at once. */
  concurrency: number;
  /**
   * Whether this target's items go now, asked at every look (a backup holding e-mail during a
   * partition): while not, they wait unclaimed and untried, and count no attempt.
   */
  sendsNow?: () => boolean;
}

export interface DeliveryRunnerOptions {
  queue: Pick<DeliveryService, 'claim' | 'settle'>;
  targets: readonly TargetRegistration[];
  /** Who this runner is when it leases items: unique per process (`workerId()`). */
  holder: string;
  log: Logger;
  /** How often to look for items queued by other processes, due again, or whose lease ran out. */
  pollMs?: number;
  /**
   * Whether this node delivers now (the composition root's once-only seam): asked at every
   * look, so a node that stops being the one finishes what it holds and claims nothing more.
   */
  runsHere?: () => boolean;
}

/** A lease holder's name: the host and process, and a random part so a restart is someone new. */
export function workerId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/** Stands for "the runner stopped waiting": the item keeps its lease and comes back after it. */
const ABANDONED = Symbol('abandoned');

/**
 * One target kind's deliveries: at most `concurrency` under way, each with its own time limit.
 * Every kind has a lane of its own, so a slow or dead target holds up only its own items.
 */
class Lane {
  readonly #reg: TargetRegistration;
  readonly #opts: DeliveryRunnerOptions;
  readonly #leaseMs: number;
  readonly #running = new Map<Promise<void>, AbortController>();
  #claiming = false;
  #again = false;
  #stopped = false;
  #abandon: (() => void) | null = null;
  readonly #abandoned: Promise<typeof ABANDONED>;

  constructor(reg: TargetRegistration, opts: DeliveryRunnerOptions) {
    this.#reg = reg;
    this.#opts = opts;
    this.#leaseMs = leaseFor(reg.timeoutMs);
    this.#abandoned = new Promise((resolve) => (this.#abandon = () => resolve(ABANDONED)));
  }

  get kind(): TargetKind {
    return this.#reg.target.kind;
  }

  /** Claims as many due items as there are free slots, and starts them. */
  fill(): void {
    if (this.#stopped || this.#reg.sendsNow?.() === false) return;
    if (this.#claiming) {
      this.#again = true;
      return;
    }
    const free = this.#reg.concurrency - this.#running.size;
    if (free <= 0) return; // a finished delivery fills again
    this.#claiming = true;
    // Inside a promise, so that even a synchronous throw is logged, never seen by the caller.
    void Promise.resolve()
      .then(() => this.#opts.queue.claim(this.kind, this.#opts.holder, free, this.#leaseMs))
      .then(
        (items) => {
          for (const item of items) this.#start(item);
          // A full batch may mean more is due.
          if (items.length === free) this.#again = true;
        },
        (err: unknown) => this.#opts.log.error({ err, target: this.kind }, 'claiming failed'),
      )
      .finally(() => {
        this.#claiming = false;
        if (this.#again) {
          this.#again = false;
          setImmediate(() => this.fill());
        }
      });
  }

  #start(item: QueueItem): void {
    const controller = new AbortController();
    const run: Promise<void> = this.#attempt(item, controller)
      .catch((err: unknown) =>
        // Not recorded (the store refused): the item keeps its lease and comes back after it.
        this.#opts.log.error({ err, deliveryId: item.id, target: this.kind }, 'delivery failed'),
      )
      .finally(() => {
        this.#running.delete(run);
        this.fill();
      });
    this.#running.set(run, controller);
  }

  async #attempt(item: QueueItem, controller: AbortController): Promise<void> {
    const { timeoutMs } = this.#reg;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<DeliveryResult>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve({ status: 'retry', reason: `no answer within ${timeoutMs / 1000} s` });
      }, timeoutMs);
      timer.unref();
    });
    const delivered = Promise.resolve()
      .then(() => this.#hand(item, controller.signal))
      .catch((err: unknown): DeliveryResult => ({
        status: 'retry',
        reason: String((err as Error)?.message ?? err),
      }));
    const result = await Promise.race([delivered, timedOut, this.#abandoned]);
    clearTimeout(timer);
    if (result === ABANDONED) return;
    await this.#opts.queue.settle(item, result, this.#opts.holder);
  }

  /** A voicemail to `deliver`, a notice to `deliverNotice`: a target without it cannot send one. */
  #hand(item: QueueItem, signal: AbortSignal): Promise<DeliveryResult> {
    const { target } = this.#reg;
    if (item.kind !== 'notice') return target.deliver(item, signal);
    if (target.deliverNotice) return target.deliverNotice(item, signal);
    return Promise.resolve({
      status: 'fail',
      reason: `the ${target.kind} target sends no notices`,
    });
  }

  /**
   * Stops claiming and lets deliveries under way finish (and be recorded) for up to `graceMs`,
   * so none goes twice; those still running then are abandoned under their lease.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopped = true;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.allSettled([...this.#running.keys()]), grace]);
    clearTimeout(timer);
    this.#abandon?.();
    for (const controller of this.#running.values()) controller.abort();
  }
}

/**
 * Hands due items of the queue to the registered targets: at once when poked (an item was queued
 * in this process), and every few seconds for items queued elsewhere, due for another attempt,
 * or whose worker died (its lease ran out). Items of a kind no target is registered for wait.
 * Building it starts nothing; `start` does.
 */
export class DeliveryRunner {
  readonly #lanes: Lane[];
  readonly #pollMs: number;
  readonly #runsHere: () => boolean;
  #timer: NodeJS.Timeout | null = null;

  constructor(opts: DeliveryRunnerOptions) {
    const kinds = new Set<TargetKind>();
    for (const reg of opts.targets) {
      if (kinds.has(reg.target.kind)) {
        throw new VoicegateError(
          'INVALID_INPUT',
          `two delivery targets of kind ${reg.target.kind}`,
        );
      }
      if (!(reg.concurrency >= 1) || !(reg.timeoutMs > 0)) {
        throw new VoicegateError(
          'INVALID_INPUT',
          `delivery target ${reg.target.kind}: concurrency and timeout must be above 0`,
        );
      }
      kinds.add(reg.target.kind);
    }
    this.#lanes = opts.targets.map((reg) => new Lane(reg, opts));
    this.#pollMs = opts.pollMs ?? 2000;
    this.#runsHere = opts.runsHere ?? (() => true);
  }

  /** Starts polling, and delivers what is due now (queued while the server was down). */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.poke(), this.#pollMs);
    this.#timer.unref();
    this.poke();
  }

  /** Looks for due items of every kind now. */
  poke(): void {
    if (!this.#runsHere()) return;
    for (const lane of this.#lanes) lane.fill();
  }

  /** Stops; deliveries under way get `graceMs` to finish, so none is sent twice. */
  async stop(graceMs = 30_000): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await Promise.all(this.#lanes.map((lane) => lane.stop(graceMs)));
  }
}
