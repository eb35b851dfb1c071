import { PortPool } from '../rtp/port-pool.ts';
import { RtpSession } from '../rtp/rtp-session.ts';
import type { MediaClock } from '../rtp/media-clock.ts';

export interface MediaOptions {
  /** Address RTP sockets bind to. */
  bindAddress: string;
  /** Address written in SDP (c=). */
  advertise: string;
  portMin: number;
  portMax: number;
  clock?: MediaClock;
}

/** RTP sessions for calls, from one port range. */
export class CallMedia {
  readonly #opts: MediaOptions;
  readonly #pool: PortPool;

  constructor(opts: MediaOptions) {
    this.#opts = opts;
    this.#pool = new PortPool(opts.portMin, opts.portMax);
  }

  get advertise(): string {
    return this.#opts.advertise;
  }

  open(): Promise<RtpSession> {
    return RtpSession.open({
      pool: this.#pool,
      bindAddress: this.#opts.bindAddress,
      clock: this.#opts.clock,
    });
  }
}
