import type {
  ExchangeInboxes,
  ExchangeReadingTarget,
  SourceInbox,
} from '../domain/email-reading.ts';
import { VoicegateError } from '../domain/errors.ts';
import { EwsClient, type EwsConnection } from './ews-client.ts';
import { openEwsInbox } from './ews-inbox.ts';
import type { GraphCredentials } from './graph-auth.ts';
import { GraphInboxReader } from './graph-inbox.ts';
import { httpClientFor } from './https-client.ts';
import type { InboxOptions } from './inbox-common.ts';

/** A configured connection, as reading needs it (the config's `exchange.connections` entries). */
export type ReadingConnection =
  | ({ name: string; kind: 'graph'; caFile?: string } & GraphCredentials)
  | ({ name: string; kind: 'ews'; caFile?: string } & EwsConnection);

/**
 * The phone's reader of Exchange inboxes (the `ExchangeInboxes` port): each mailbox is read
 * through the connection its voicemail goes by, Graph or EWS, with that connection's
 * credentials and CA. One client per connection, made at its first use.
 */
export class ExchangeInboxReader implements ExchangeInboxes {
  readonly #connections: readonly ReadingConnection[];
  readonly #clients = new Map<string, GraphInboxReader | EwsClient>();

  constructor(connections: readonly ReadingConnection[]) {
    this.#connections = connections;
  }

  async open(target: ExchangeReadingTarget, opts: InboxOptions): Promise<SourceInbox> {
    const client = this.#client(target.connection);
    return client instanceof GraphInboxReader
      ? client.open(target.address, opts)
      : openEwsInbox(client, target.address, opts);
  }

  #client(name: string): GraphInboxReader | EwsClient {
    const known = this.#clients.get(name);
    if (known) return known;
    const c = this.#connections.find((x) => x.name === name);
    if (!c)
      throw new VoicegateError(
        'UNAVAILABLE',
        `no Exchange connection named "${name}" in exchange.connections`,
      );
    const send = httpClientFor(c);
    const made = c.kind === 'graph' ? new GraphInboxReader(c, send) : new EwsClient(c, send);
    this.#clients.set(name, made);
    return made;
  }
}
