import { newNonce } from '../domain/peer-trust.ts';
import type { Logger } from '../log.ts';
import type { Peer } from './peer-set.ts';
import type { PeerMailer } from './peer-mailer.ts';

export interface MailPingOptions {
  /** The backup the central pings. */
  peer: Peer;
  /** This server's `server.name` (in each ping's Message-ID). */
  self: string;
  mailer: Pick<PeerMailer, 'send'>;
  intervalMs: number;
  log: Logger;
  /** Whether this node sends (the node that runs the delivery queue). */
  runsHere(): boolean;
  now?: () => number;
}

/** The body of a ping: when it was sent, as JSON (the signature covers it). */
export function pingBody(at: number): { body: Buffer; contentType: string } {
  return {
    body: Buffer.from(`${JSON.stringify({ ping: at })}\r\n`),
    contentType: 'application/json; charset=utf-8',
  };
}

/**
 * On the central: a signed `ping` sync mail to the backup every interval, straight over the SMTP
 * link (not through the queue: a ping that cannot go is simply late, the next one replaces it).
 * The backup's watch counts a ping that arrives while its HTTPS heartbeat is silent as a sign
 * that the central lives (`SIGNAL_EVENTS` in `server/domain/failover.ts`), so a broken HTTPS
 * path alone never fails over a central that still serves. A ping that fails is logged once
 * per outage, not at every interval.
 */
export class MailPinger {
  readonly #o: MailPingOptions;
  #timer: NodeJS.Timeout | null = null;
  #sending: Promise<void> | null = null;
  #failing: string | null = null;
  #stopped = true;
  sent = 0;

  constructor(o: MailPingOptions) {
    this.#o = o;
  }

  start(): void {
    this.#stopped = false;
    const loop = (): void => {
      this.#timer = setTimeout(() => {
        this.#sending = this.ping().finally(() => {
          this.#sending = null;
          if (!this.#stopped) loop();
        });
      }, this.#o.intervalMs);
    };
    this.#sending = this.ping().finally(() => {
      this.#sending = null;
      if (!this.#stopped) loop();
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#sending;
  }

  /** One ping; never throws. */
  async ping(): Promise<void> {
    if (!this.#o.runsHere()) return;
    const at = (this.#o.now ?? Date.now)();
    const { peer } = this.#o;
    try {
      await this.#o.mailer.send(peer, 'ping', `ping-${newNonce()}@${this.#o.self}`, pingBody(at));
      this.sent++;
      if (this.#failing !== null)
        this.#o.log.info({ peer: peer.name }, 'mail ping: the SMTP link to the backup works again');
      this.#failing = null;
    } catch (err) {
      const why = (err as Error).message;
      if (this.#failing === null)
        this.#o.log.warn(
          { peer: peer.name, err: why },
          'mail ping: the SMTP link to the backup fails (it cannot tell this central is alive by mail)',
        );
      this.#failing = why;
    }
  }
}
