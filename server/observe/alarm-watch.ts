import {
  ALARM_KINDS,
  AlarmBoard,
  type Alarm,
  type AlarmChange,
  type AlarmKind,
} from '../domain/alarms.ts';
import type { Observation, Observers } from '../domain/observe.ts';
import type { Logger } from '../log.ts';

export interface AlarmWatchOptions {
  observers: Observers;
  log: Logger;
  /** Free bytes on the data folder's disk. */
  diskFree: () => Promise<number>;
  /** When the oldest pending delivery was queued; null when none is pending. */
  oldestPendingAt: () => Promise<number | null>;
  /** Why the store is unavailable (it cannot be read, or a write could not be made durable); null if it is. */
  storeHealth?: () => Promise<string | null>;
  diskFreeMinMB: number;
  queueStuckMinutes: number;
  checkSeconds: number;
  now?: () => number;
  /** Told of each alarm raised or cleared (the log has it already). */
  onChange?: (change: AlarmChange) => void;
}

const MB = 1024 * 1024;

/**
 * Turns what the server sees into alarms: the disk, the queue and the store checked on a timer, failing
 * deliveries and the PBX registration as they are reported. Each alarm is logged once when
 * raised and once when cleared, as a record with an `alarm` field the syslog sink always sends.
 */
export class AlarmWatch {
  readonly board = new AlarmBoard();
  readonly #o: AlarmWatchOptions;
  readonly #unwatch: () => void;
  #timer: NodeJS.Timeout | null = null;
  #checking: Promise<void> | null = null;
  #rounds = 0;

  constructor(o: AlarmWatchOptions) {
    this.#o = o;
    this.#unwatch = o.observers.watch((ob) => this.#observed(ob));
  }

  #now(): number {
    return this.#o.now?.() ?? Date.now();
  }

  /** Checks at once, then every `checkSeconds`. */
  start(): void {
    if (this.#timer) return;
    void this.check();
    this.#timer = setInterval(() => void this.check(), this.#o.checkSeconds * 1000);
    this.#timer.unref();
  }

  /** One round of the timed checks; a round under way is joined, not doubled. */
  check(): Promise<void> {
    this.#checking ??= this.#checkOnce().finally(() => (this.#checking = null));
    return this.#checking;
  }

  async #checkOnce(): Promise<void> {
    try {
      const free = await this.#o.diskFree();
      const min = this.#o.diskFreeMinMB * MB;
      this.set(
        'disk-low',
        '',
        free < min,
        `${Math.floor(free / MB)} MB free, below ${this.#o.diskFreeMinMB} MB`,
      );
    } catch (err) {
      this.#o.log.warn({ err }, 'alarm check: the disk space could not be read');
    }
    try {
      const at = await this.#o.oldestPendingAt();
      const minutes = at === null ? 0 : (this.#now() - at) / 60_000;
      this.set(
        'queue-stuck',
        '',
        minutes > this.#o.queueStuckMinutes,
        `the oldest pending delivery waited ${Math.floor(minutes)} minutes (limit ${this.#o.queueStuckMinutes})`,
      );
    } catch (err) {
      this.#o.log.warn({ err }, 'alarm check: the queue could not be read');
    }
    if (this.#o.storeHealth) {
      const problem = await this.#o.storeHealth().catch((err: unknown) => String(err));
      this.set('store-unavailable', '', problem !== null, problem ?? 'the store answers');
    }
    this.#o.log.debug({ round: ++this.#rounds }, 'alarm checks done');
  }

  #observed(o: Observation): void {
    // An alarm's own mail neither raises nor clears one: its success would clear what it reports.
    if (o.event === 'delivery' && o.notice) return;
    if (o.event === 'delivery' && o.result === 'failed')
      this.set('delivery-failing', o.target, true, o.reason ?? 'failed');
    else if (o.event === 'delivery' && o.result === 'delivered')
      this.set('delivery-failing', o.target, false, 'a delivery succeeded');
    else if (o.event === 'registration') this.set('pbx-unregistered', '', !o.registered, o.detail);
  }

  /**
   * An alarm's condition as seen now, from a check here or from another part (a peer watch):
   * logged and told only when it changes.
   */
  set(kind: AlarmKind, subject: string, on: boolean, detail: string): void {
    const change = this.board.set(kind, subject, on, detail, this.#now());
    if (!change) return;
    const { severity, summary, advice } = ALARM_KINDS[kind];
    const alarm = { kind, subject, severity, state: change.change, detail };
    if (change.change === 'raised')
      this.#o.log.warn(
        { alarm, advice },
        `alarm raised: ${summary}${subject ? ` (${subject})` : ''}`,
      );
    else this.#o.log.warn({ alarm }, `alarm cleared: ${summary}${subject ? ` (${subject})` : ''}`);
    this.#o.onChange?.(change);
  }

  active(): Alarm[] {
    return this.board.active();
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#unwatch();
    await this.#checking;
  }
}
