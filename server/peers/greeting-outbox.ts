import { newNonce } from '../domain/peer-trust.ts';
import {
  greetingSent,
  noteGreetingChange,
  type GreetingOutbox as Outbox,
  type PeerGreeting,
} from '../domain/greeting-merge.ts';
import type { Greeting } from '../domain/message.ts';
import type { Logger } from '../log.ts';
import type { Peer } from './peer-set.ts';
import type { PeerMailer } from './peer-mailer.ts';
import type { JsonFile } from './replica-files.ts';
import { greetingBody, greetingRemovedBody } from './sync-mail.ts';

export interface GreetingOutboxOptions {
  /** `replication/greetings-to-<central>.json` in the data folder. */
  file: JsonFile<Outbox>;
  central: Peer;
  /** The greetings of a mailbox here, and a greeting's audio. */
  greetings(mailbox: string): Promise<Greeting[]>;
  readAudio(key: string): Promise<Uint8Array>;
  mailer: () => Pick<PeerMailer, 'send' | 'close'>;
  log: Logger;
}

/**
 * On a backup: the greetings changed here while live (by phone, the web, the CLI), set or
 * removed, kept in the data folder until the central has them. Handing back, each goes as a
 * signed `greeting` sync mail with the greeting as it is then (a removal as its facts alone); an
 * entry leaves the file only after the central's 250 (a greeting changed again meanwhile stays
 * for the next round).
 */
export class GreetingOutbox {
  readonly #o: GreetingOutboxOptions;
  /** Writes to the file, one after the other. */
  #chain: Promise<unknown> = Promise.resolve();

  constructor(o: GreetingOutboxOptions) {
    this.#o = o;
  }

  #update(change: (outbox: Outbox) => Outbox): Promise<void> {
    const next = this.#chain.then(async () => {
      const outbox = change((await this.#o.file.read()) ?? []);
      await this.#o.file.write(outbox.length ? outbox : null);
    });
    this.#chain = next.catch(() => {});
    return next;
  }

  /** Notes a change made here while live. */
  note(change: PeerGreeting): Promise<void> {
    return this.#update((outbox) => noteGreetingChange(outbox, change)).catch((err: unknown) =>
      this.#o.log.error(
        { err, mailbox: change.mailbox, kind: change.kind },
        'greeting change not noted for the central: it will not be handed back',
      ),
    );
  }

  async waiting(): Promise<number> {
    await this.#chain;
    return ((await this.#o.file.read()) ?? []).length;
  }

  /** Sends what waits, in order; returns how many still wait (0: the central has them all). */
  async flush(): Promise<number> {
    await this.#chain;
    const outbox = (await this.#o.file.read()) ?? [];
    if (outbox.length === 0) return 0;
    const mailer = this.#o.mailer();
    try {
      for (const change of outbox) {
        const greeting = (await this.#o.greetings(change.mailbox).catch(() => [])).find(
          (g) => g.kind === change.kind,
        );
        // As it is now: a greeting set since a removal was noted goes as set, and one noted as
        // set but gone since (its removal not noted) goes as removed, both at the change noted.
        const { removed: _, ...facts } = change;
        const body = greeting
          ? greetingBody(facts, await this.#o.readAudio(greeting.audio.key))
          : greetingRemovedBody(facts);
        try {
          await mailer.send(
            this.#o.central,
            'greeting',
            `greeting-${newNonce()}@${change.server}`,
            body,
          );
        } catch (err) {
          this.#o.log.warn(
            { err: (err as Error).message, mailbox: change.mailbox, kind: change.kind },
            'greeting not handed back yet: tried again at the next heartbeat',
          );
          break;
        }
        this.#o.log.info(
          { mailbox: change.mailbox, kind: change.kind, changedAt: change.changedAt },
          greeting
            ? 'greeting changed while live handed back to the central'
            : 'greeting removed while live handed back to the central',
        );
        await this.#update((o) => greetingSent(o, change));
      }
    } finally {
      mailer.close();
    }
    return this.waiting();
  }
}
