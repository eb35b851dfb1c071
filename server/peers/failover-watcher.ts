import {
  isLive,
  signalEvent,
  stepFailover,
  type FailoverEvent,
  type FailoverRules,
  type FailoverState,
} from '../domain/failover.ts';
import type { BeatResult } from './heartbeat.ts';

/** What a backup remembers of its central across restarts. */
export interface SavedFailover {
  state: FailoverState;
  /** Beats missed in a row. */
  missed: number;
  /** When the state last changed (ms). */
  changedAt: number;
  /** The last heartbeat the central answered (ms), or null. */
  lastBeatAt: number | null;
  /** When the backup became live this time (ms), or null in standby. */
  liveSince: number | null;
  /** When the central answered again while the backup was live (ms), or null. */
  returnedAt: number | null;
  /** What was done here before this time (ms) is queued for the central; null: nothing yet. */
  handedBackUntil: number | null;
  /** A hand-back is to be queued (the central answered again, or handing back began). */
  handBackDue: boolean;
}

export interface FailoverChange {
  from: FailoverState;
  to: FailoverState;
  event: FailoverEvent;
  /** What was seen: the heartbeat's problem, the administrator's request. */
  detail: string;
}

export interface FailoverWatcherOptions {
  rules: FailoverRules;
  intervalMs: number;
  /** automatic failback: hand back this long after the central returned, calls or not. */
  timeoutMs: number;
  /** One heartbeat to the central. */
  beat(): Promise<BeatResult>;
  /** Calls in progress on this server now. */
  callsInProgress(): number;
  /**
   * Queues for the central what happened here while live since then: when the central answers
   * again (since `liveSince`), and when handing back (since it answered again).
   */
  handBack(since: number): Promise<void>;
  /** Whether the central has everything queued for it (nothing waits here for it). */
  caughtUp(): Promise<boolean>;
  /** Whether an administrator asked for failback out of process (`voicegate topology failback`). */
  takeFailbackRequest(): boolean;
  load(): SavedFailover | null;
  save(state: SavedFailover): void;
  /** Told once per change of state (the composition root logs, audits and raises alarms). */
  onChange(change: FailoverChange, state: SavedFailover): void;
  /** A round failed (queueing the hand-back): it is tried again at the next round. */
  onError(err: Error): void;
  /**
   * The central's mail pings (`topology.failover.mailPingSeconds`; 0: none): a ping counts as
   * a sign of life if it arrived since the heartbeat went silent and within two intervals.
   */
  mailPingMs?: number;
  /**
   * Told once when the central starts answering by mail only (heartbeat silent, pings
   * arriving) and once when that ends, with what was seen.
   */
  onMailOnly?(on: boolean, detail: string): void;
  now?: () => number;
}

/**
 * Watches the central from a backup: a heartbeat every `intervalMs`, each answered or missed
 * beat fed into `stepFailover` (the rules are data in `server/domain/failover.ts`), then the
 * failback events this state listens for (an administrator's request, no call in progress,
 * the timeout) and, while handing back, whether the central has caught up. The state is
 * saved at every change, so a restart resumes it: a backup that was live stays live until the
 * central answers again.
 */
export class FailoverWatcher {
  readonly #o: FailoverWatcherOptions;
  #s: SavedFailover;
  #timer: NodeJS.Timeout | null = null;
  #ticking: Promise<void> | null = null;
  #stopped = false;
  #queuedThere = 0;
  #problem: string | null = null;
  /** The last mail ping from the central (ms), or null. */
  #lastPingAt: number | null = null;
  /** When the heartbeat went silent (the round of its first miss in a row), or null. */
  #silentSince: number | null = null;
  #mailOnly = false;

  constructor(o: FailoverWatcherOptions) {
    this.#o = o;
    this.#s = o.load() ?? {
      state: 'standby',
      missed: 0,
      changedAt: this.#now(),
      lastBeatAt: null,
      liveSince: null,
      returnedAt: null,
      handedBackUntil: null,
      handBackDue: false,
    };
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  /** Whether this backup serves as the central does now (lamps, e-mail, keeping messages). */
  isLive(): boolean {
    return isLive(this.#s.state);
  }

  status(): SavedFailover & {
    problem: string | null;
    queuedThere: number;
    lastMailPingAt: number | null;
    mailOnly: boolean;
  } {
    return {
      ...this.#s,
      problem: this.#problem,
      queuedThere: this.#queuedThere,
      lastMailPingAt: this.#lastPingAt,
      mailOnly: this.#mailOnly,
    };
  }

  /** A signed mail ping from the central arrived (the sync inbox verified it). */
  mailPing(at: number = this.#now()): void {
    this.#lastPingAt = at;
  }

  /** Whether the central's mail pings say it lives while its heartbeat is silent. */
  #mailAlive(now: number): boolean {
    const every = this.#o.mailPingMs ?? 0;
    const at = this.#lastPingAt;
    return (
      every > 0 &&
      at !== null &&
      this.#silentSince !== null &&
      at >= this.#silentSince &&
      now - at <= 2 * every
    );
  }

  start(): void {
    this.#stopped = false;
    const loop = (): void => {
      this.#timer = setTimeout(() => {
        void this.#tickLogged().finally(() => {
          if (!this.#stopped) loop();
        });
      }, this.#o.intervalMs);
    };
    void this.#tickLogged().finally(() => {
      if (!this.#stopped) loop();
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#ticking;
  }

  #tickLogged(): Promise<void> {
    return this.tick().catch((err: unknown) => this.#o.onError(err as Error));
  }

  /** One round: a heartbeat, then the failback events that apply now. */
  tick(): Promise<void> {
    return (this.#ticking ??= this.#round().finally(() => {
      this.#ticking = null;
    }));
  }

  /**
   * An administrator's failback: starts handing back if the central has returned; otherwise
   * says why nothing happens.
   */
  async failback(detail = 'an administrator asked'): Promise<FailoverState> {
    await this.#ticking;
    await this.#apply('failback', detail);
    return this.#s.state;
  }

  async #round(): Promise<void> {
    const asked = this.#now();
    const beat = await this.#o.beat();
    if (beat.ok) {
      this.#s.lastBeatAt = this.#now();
      this.#queuedThere = beat.queued;
      this.#problem = null;
      this.#silentSince = null;
    } else {
      this.#problem = beat.problem;
      this.#silentSince ??= asked;
    }
    const event = signalEvent(beat.ok, !beat.ok && this.#mailAlive(this.#now()));
    const detail = beat.ok
      ? 'the central answers'
      : event === 'mail-only'
        ? `${beat.problem}; its mail pings still arrive (the last ${Math.round((this.#now() - this.#lastPingAt!) / 1000)} s ago): alive, unreachable over HTTPS`
        : beat.problem;
    if ((event === 'mail-only') !== this.#mailOnly) {
      this.#mailOnly = event === 'mail-only';
      this.#o.onMailOnly?.(this.#mailOnly, detail);
    }
    await this.#apply(event, detail);
    // A request waits for the central to return; one left while nothing is to hand back lapses.
    if (this.#s.state === 'standby') this.#o.takeFailbackRequest();
    if (this.#s.state === 'returning' && this.#o.takeFailbackRequest())
      await this.#apply('failback', 'an administrator asked (voicegate topology failback)');
    if (this.#s.state === 'returning' && this.#o.callsInProgress() === 0)
      await this.#apply('calls-ended', 'no call in progress');
    if (
      this.#s.state === 'returning' &&
      this.#s.returnedAt !== null &&
      this.#now() - this.#s.returnedAt >= this.#o.timeoutMs
    )
      await this.#apply('timeout', `${this.#o.timeoutMs / 1000} s since the central returned`);
    // A hand-back that failed to queue (the store busy) is queued again before anything else.
    await this.#handBack();
    if (this.#s.state === 'handing-back' && (await this.#o.caughtUp()))
      await this.#apply('caught-up', 'the central has everything done here while live');
    this.#o.save(this.#s);
  }

  async #apply(event: FailoverEvent, detail: string): Promise<void> {
    const from = this.#s.state;
    const next = stepFailover({ state: from, missed: this.#s.missed }, event, this.#o.rules);
    this.#s.missed = next.missed;
    if (next.state === from) return;
    const now = this.#now();
    this.#s.state = next.state;
    this.#s.changedAt = now;
    if (next.state === 'live' && !isLive(from)) this.#s.liveSince = now;
    if (next.state === 'returning') this.#s.returnedAt = now;
    if (next.state === 'live') this.#s.returnedAt = null;
    if (next.state === 'standby') {
      this.#s.liveSince = null;
      this.#s.returnedAt = null;
      this.#s.handedBackUntil = null;
      this.#s.handBackDue = false;
    }
    // The link healed (a central back, or a partition over): what was done here while live
    // goes to the central at once, so both sides merge whatever the failback mode; handing
    // back, what was done since then. Marked due in the state saved with the change, and
    // cleared only once queued: a failure or a restart in between queues it again (the
    // central stores each message once however often it comes).
    if (next.state === 'returning' || next.state === 'handing-back') this.#s.handBackDue = true;
    this.#o.save(this.#s);
    this.#o.onChange({ from, to: next.state, event, detail }, { ...this.#s });
    await this.#handBack();
  }

  /** Queues the hand-back due, from where the last one queued (or from going live). */
  async #handBack(): Promise<void> {
    if (!this.#s.handBackDue) return;
    const at = this.#now();
    await this.#o.handBack(this.#s.handedBackUntil ?? this.#s.liveSince ?? at);
    this.#s.handedBackUntil = at;
    this.#s.handBackDue = false;
    this.#o.save(this.#s);
  }
}
