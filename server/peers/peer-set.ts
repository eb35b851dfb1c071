/** A peer of this server (`topology` in the config), its secret read. */
export interface Peer {
  /** Its `server.name`. */
  name: string;
  role: 'central' | 'backup' | 'distributed';
  /** Its SMTP listener. */
  host: string;
  port: number;
  /** Its mail domain: sync mail goes to vmsyncmaster@ or vmsyncslave@ there. */
  domain: string;
  /** Its web base URL (health), or ''. */
  https: string;
  secret: string;
  /** Sync mail to and from it may go without TLS. */
  plainText: boolean;
  /** PEM to trust for its TLS, or ''. */
  ca: string;
  /** On the central, a distributed server's call flows file (a path), kept in step there. */
  flowsFile?: string;
}

/** This server and its peers, by name. */
export class PeerSet {
  readonly self: { name: string; domain: string };
  readonly #byName: Map<string, Peer>;

  constructor(self: { name: string; domain: string }, peers: readonly Peer[]) {
    this.self = self;
    this.#byName = new Map(peers.map((p) => [p.name, p]));
  }

  get(name: string): Peer | null {
    return this.#byName.get(name) ?? null;
  }

  all(): Peer[] {
    return [...this.#byName.values()];
  }

  /** The central, if this server has one. */
  central(): Peer | null {
    return this.all().find((p) => p.role === 'central') ?? null;
  }

  /** The backup, if this server (a central) has one. */
  backup(): Peer | null {
    return this.all().find((p) => p.role === 'backup') ?? null;
  }

  /** Whether any peer may send sync mail without TLS. */
  anyPlainText(): boolean {
    return this.all().some((p) => p.plainText);
  }
}

/** Splits `host:port` (`[v6]:port` too). */
export function hostPort(text: string): { host: string; port: number } {
  const at = text.lastIndexOf(':');
  return { host: text.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(text.slice(at + 1)) };
}
