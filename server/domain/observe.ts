import type { TargetKind } from './delivery.ts';
import type { GreetingKind } from './mailbox.ts';

/** The channels a log-in comes through (MailboxService's `Channel`). */
export type LoginChannel = 'imap' | 'web' | 'phone' | 'cli' | 'smtp';
/** A mailbox's channels, and `admin`: an administrator's log-in to the admin area. */
export type ObservedLoginChannel = LoginChannel | 'admin';
/** Where a deposit came from: a caller, a mail, the CLI, a peer server. */
export type DepositChannel = 'phone' | 'smtp' | 'cli' | 'peer' | 'other';

/**
 * What the domain and the adapters report as it happens, for metrics and alarms. The domain
 * names the event; whoever watches (the Prometheus registry, the alarm watch) decides what it
 * counts, so no service imports a metrics library and adapters stay one line.
 */
export type Observation =
  | { event: 'login'; channel: ObservedLoginChannel; outcome: 'ok' | 'failed' | 'refused' }
  /** A wrong code (or password) took a mailbox's (or an administrator's) last try. */
  | { event: 'lockout'; channel: ObservedLoginChannel }
  | { event: 'deposit'; channel: DepositChannel }
  | {
      event: 'delivery';
      target: TargetKind;
      /** A notice (an alarm's own mail) says nothing of how voicemail is delivered. */
      notice?: boolean;
      result: 'delivered' | 'deferred' | 'failed' | 'lost';
      reason?: string;
    }
  /** A stream opened (+1) or closed (-1): web pages following changes (SSE). */
  | { event: 'stream'; kind: 'sse'; delta: 1 | -1 }
  /** The PBX registration's state changed (the SIP part's user agent). */
  | { event: 'registration'; registered: boolean; detail: string }
  /** A mailbox's greeting set or removed by its user or an administrator (not by replication). */
  | {
      event: 'greeting';
      mailbox: string;
      kind: GreetingKind;
      change: 'set' | 'removed';
      at: number;
    };

export type Observe = (o: Observation) => void;

/**
 * One process's observers: `emit` hands each observation to every watcher. A watcher that
 * throws is a bug in the watcher, never a reason to fail the log-in or deposit it watched.
 */
export class Observers {
  readonly #watchers = new Set<Observe>();
  #failed = 0;

  readonly emit: Observe = (o) => {
    for (const w of this.#watchers) {
      try {
        w(o);
      } catch {
        this.#failed++;
      }
    }
  };

  /** Adds a watcher; the function returned removes it. */
  watch(w: Observe): () => void {
    this.#watchers.add(w);
    return () => this.#watchers.delete(w);
  }

  /** Observations a watcher threw on (shown by the metrics). */
  get failed(): number {
    return this.#failed;
  }
}
