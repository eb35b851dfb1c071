import type { WitnessView } from '../domain/partition.ts';
import type { Logger } from '../log.ts';

/**
 * One look at the witness (`topology.failover.witness`): 2xx is `central-up`; 5xx
 * `central-down` (a proxy in front of the central answers 502, 503 or 504 when it is gone, and
 * a status page says so with 503); any other answer (a redirect, a 404 from a wrong URL) tells
 * nothing of the central, and neither does no answer within `timeoutMs`: `unreachable`.
 */
export async function probeWitness(url: string, timeoutMs: number): Promise<WitnessView> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    await res.body?.cancel();
    if (res.status >= 200 && res.status < 300) return 'central-up';
    return res.status >= 500 ? 'central-down' : 'unreachable';
  } catch {
    return 'unreachable';
  }
}

export interface WitnessWatchOptions {
  url: string;
  intervalMs: number;
  log: Logger;
  probe?: (url: string, timeoutMs: number) => Promise<WitnessView>;
}

/**
 * A backup's watch of the witness: a probe every interval, the last view kept, so that each
 * lamp and each e-mail asks it at the moment it would be sent (`server/domain/partition.ts`).
 * Until the first answer, the view is `unreachable` (the backup cannot tell yet).
 */
export class WitnessWatch {
  readonly #o: WitnessWatchOptions;
  #view: WitnessView = 'unreachable';
  #timer: NodeJS.Timeout | null = null;
  #round: Promise<void> | null = null;

  constructor(o: WitnessWatchOptions) {
    this.#o = o;
  }

  view(): WitnessView {
    return this.#view;
  }

  /** One probe now; resolves with the view it saw. */
  async check(): Promise<WitnessView> {
    const probe = this.#o.probe ?? probeWitness;
    const view = await probe(this.#o.url, Math.min(10_000, this.#o.intervalMs * 0.8));
    if (view !== this.#view)
      this.#o.log.info({ witness: this.#o.url, from: this.#view, to: view }, 'witness view');
    this.#view = view;
    return view;
  }

  start(): void {
    const loop = (): void => {
      this.#round = this.check().then(
        () => {
          if (this.#timer !== null) this.#timer = setTimeout(loop, this.#o.intervalMs);
        },
        () => {},
      );
    };
    this.#timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#round;
  }
}
