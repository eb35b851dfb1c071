import type { ClockStats } from '../rtp/media-clock.ts';
import { MediaThread, type MediaSession } from '../rtp/media-thread.ts';
import type { SipLog } from '../sip/api.ts';

export interface MediaOptions {
  /** Address RTP sockets bind to. */
  bindAddress: string;
  /** Address written in SDP (c=). */
  advertise: string;
  portMin: number;
  portMax: number;
}

/** RTP sessions for calls, from one port range, on the media thread. */
export class CallMedia {
  readonly advertise: string;
  readonly #thread: MediaThread;

  private constructor(advertise: string, thread: MediaThread) {
    this.advertise = advertise;
    this.#thread = thread;
  }

  /**
   * The media thread itself starts with the first call (or stats request): its isolate costs
   * about 28 MiB of memory, which a server that takes no calls, or none yet, need not hold.
   */
  static async start(opts: MediaOptions, log: SipLog): Promise<CallMedia> {
    const thread = new MediaThread(
      { bindAddress: opts.bindAddress, portMin: opts.portMin, portMax: opts.portMax },
      (err) => log.error({ err }, 'the media thread died; its calls ended, a new one starts'),
      (err) => log.error({ err }, 'a media event failed'),
    );
    return new CallMedia(opts.advertise, thread);
  }

  open(): Promise<MediaSession> {
    return this.#thread.open();
  }

  /** RTP send lateness since the last reset (benchmarks). */
  stats(reset = false): Promise<ClockStats> {
    return this.#thread.stats(reset);
  }

  stop(): Promise<void> {
    return this.#thread.stop();
  }
}
