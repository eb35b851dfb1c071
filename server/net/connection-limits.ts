import { EventEmitter } from 'node:events';
import type { Server, Socket } from 'node:net';

/** `limits` of the config: the same for every TCP listener. */
export interface LimitsConfig {
  perAddress: number;
  total: number;
  handshakeSeconds: number;
  preAuthSeconds: number;
  /** Addresses held only to `total`, not `perAddress` (a trusted reverse proxy carries everyone). */
  shared?: (address: string) => boolean;
}

export interface ConnectionStats {
  /** Connections open now. */
  active: number;
  /** Connections refused since start (per-address or total limit). */
  refused: number;
  perAddress: number;
  total: number;
}

interface LimitsLog {
  warn(obj: object, msg: string): void;
}

/** How often a refused address is logged: once a minute, with the count refused meanwhile. */
const LOG_EVERY_MS = 60_000;

/**
 * Whose connection it is: an IPv4 address, or an IPv6 /64 (one host is usually given a whole
 * /64, so counting single IPv6 addresses would not limit it at all).
 */
export function clientOf(address: string): string {
  if (!address.includes(':') || /^::ffff:[\d.]+$/i.test(address)) return address;
  const [head = '', tail] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [
    ...left,
    ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'),
    ...right,
  ];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

const keyOf = (s: { remoteAddress?: string; remotePort?: number }): string =>
  `${s.remoteAddress} ${s.remotePort}`;

/**
 * One admitted connection: it holds its place in the counts until its socket closes, and the
 * deadlines that close it (TLS handshake, login). `expire` is how the protocol says goodbye
 * (IMAP BYE, SMTP 421); before the protocol has a session it is a plain destroy.
 *
 * Thousands of idle connections hold one each, so a slot holds plain fields and no closure of
 * its own: the owner's release and the socket's 'close' listener are shared by all slots.
 */
export class ConnectionSlot {
  /** The client counted: its address, or its IPv6 /64 (`clientOf`). */
  readonly address: string;
  /** How the connection is closed at a deadline; the protocol sets its own goodbye. */
  expire: (this: ConnectionSlot, reason: string) => void = destroySocket;
  /** The protocol's session, for an `expire` shared by all its slots (set by the protocol). */
  session: unknown;
  /** Armed deadlines; none once the connection has logged in (most of its life, when idle). */
  #timers: Map<string, NodeJS.Timeout> | undefined;
  readonly #socket: Socket;
  /** The owner's release; none once released. */
  #release: ((slot: ConnectionSlot) => void) | undefined;

  constructor(socket: Socket, address: string, release: (slot: ConnectionSlot) => void) {
    this.address = address;
    this.#socket = socket;
    this.#release = release;
  }

  get socket(): Socket {
    return this.#socket;
  }

  /**
   * Closes the connection in `seconds` unless `done(name)` comes first; arming it again
   * restarts it. `onExpire` returning false means the deadline no longer applies (e.g. the
   * handshake did finish).
   */
  deadline(name: string, seconds: number, reason: string, onExpire?: () => boolean): void {
    this.done(name);
    if (!this.#release) return;
    const timer = setTimeout(() => {
      this.done(name);
      if (onExpire && !onExpire()) return;
      this.expire(reason);
    }, seconds * 1000);
    timer.unref();
    (this.#timers ??= new Map()).set(name, timer);
  }

  done(name: string): void {
    const timers = this.#timers;
    if (!timers) return;
    clearTimeout(timers.get(name));
    timers.delete(name);
    // An idle connection keeps no empty map: thousands of them are held at once.
    if (timers.size === 0) this.#timers = undefined;
  }

  /**
   * From now on the protocol calls `release()` when its connection on this very socket ends (its
   * own close handling): the slot's 'close' listener goes, so that the socket keeps one 'close'
   * listener, the protocol's, instead of an array of two (about 100 bytes per idle connection).
   * A protocol that swaps the socket for a TLS one over it still has the release put back by
   * `removeAllListeners` (STARTTLS), and the plain socket's close releases it as before.
   */
  releasedByProtocol(): void {
    this.#socket.off('close', releaseSlot);
  }

  /** Once, however many of error, end and close the socket emits. */
  release(): void {
    const release = this.#release;
    if (!release) return;
    this.#release = undefined;
    for (const timer of this.#timers?.values() ?? []) clearTimeout(timer);
    this.#timers = undefined;
    release(this);
  }
}

/** A slot's `expire` before the protocol sets its goodbye. */
function destroySocket(this: ConnectionSlot): void {
  this.socket.destroy();
}

/** Where a socket's slot is kept, for the 'close' listener all sockets share. */
const kSlot = Symbol('connectionSlot');
type SlotSocket = Socket & { [kSlot]?: ConnectionSlot };

/** The 'close' listener of every admitted socket: one function, not a closure per socket. */
function releaseSlot(this: SlotSocket): void {
  this[kSlot]?.release();
}

/**
 * The connection limits of one listener: at most `perAddress` connections from one client
 * address and `total` in all. A connection beyond them is closed at once (after a one-line
 * goodbye where the protocol speaks first), counted, and logged once a minute per address.
 */
export class ConnectionLimits {
  readonly #name: string;
  readonly #config: LimitsConfig;
  readonly #log: LimitsLog;
  readonly #perAddress = new Map<string, number>();
  readonly #slots = new Map<string, ConnectionSlot>();
  /** Per refused address: when it was last logged and how many were refused since. */
  readonly #refusedLog = new Map<string, { at: number; count: number }>();
  #refused = 0;

  constructor(name: string, config: LimitsConfig, log: LimitsLog) {
    this.#name = name;
    this.#config = config;
    this.#log = log;
  }

  get config(): LimitsConfig {
    return this.#config;
  }

  /**
   * Puts the limits in front of every 'connection' listener the server has now (the protocol
   * library's own): refused sockets never reach it. `refuse` writes the protocol's goodbye;
   * `admitted` arms the deadlines of a new slot. `startTls: false` says the protocol never swaps
   * the socket for a TLS one over it (no STARTTLS on this listener), so the slot's release needs
   * no guard against the library stripping the socket's listeners (less held per connection).
   */
  guard(
    server: Server,
    hooks: {
      refuse?: (socket: Socket) => void;
      admitted?: (slot: ConnectionSlot, socket: Socket) => void;
      startTls?: boolean;
    } = {},
  ): void {
    const listeners = server.listeners('connection') as ((socket: Socket) => void)[];
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => {
      const slot = this.#admit(socket, hooks.startTls ?? true);
      if (!slot) {
        socket.on('error', () => {});
        if (hooks.refuse) hooks.refuse(socket);
        // The descriptor goes as soon as the goodbye is with the kernel (which still sends it),
        // or after a second if a client that never reads holds it up.
        socket.end();
        socket.once('finish', () => socket.destroy());
        setTimeout(() => socket.destroy(), 1000).unref();
        return;
      }
      hooks.admitted?.(slot, socket);
      for (const listener of listeners) listener.call(server, socket);
    });
  }

  /** The slot of a socket, or of a TLS socket over it (same peer address and port). */
  slotOf(
    socket: { remoteAddress?: string; remotePort?: number } | undefined,
  ): ConnectionSlot | undefined {
    if (!socket) return undefined;
    return (socket as SlotSocket)[kSlot] ?? this.#slots.get(keyOf(socket));
  }

  stats(): ConnectionStats {
    return {
      active: this.#slots.size,
      refused: this.#refused,
      perAddress: this.#config.perAddress,
      total: this.#config.total,
    };
  }

  /** Closes every connection still open (at shutdown, including those mid-handshake). */
  destroyAll(): void {
    for (const slot of [...this.#slots.values()]) slot.socket.destroy();
  }

  #admit(socket: Socket, startTls: boolean): ConnectionSlot | undefined {
    // Reset before it was accepted: nothing to count, nothing to serve.
    if (socket.remoteAddress === undefined) return undefined;
    const address = clientOf(socket.remoteAddress);
    const fromAddress = this.#perAddress.get(address) ?? 0;
    const overAddress =
      fromAddress >= this.#config.perAddress && !this.#config.shared?.(socket.remoteAddress);
    if (overAddress || this.#slots.size >= this.#config.total) {
      this.#noteRefused(address, overAddress ? 'perAddress' : 'total');
      return undefined;
    }
    this.#perAddress.set(address, fromAddress + 1);
    const slot = new ConnectionSlot(socket, address, this.#free);
    this.#slots.set(keyOf(socket), slot);
    // 'on', not 'once': a socket closes once, and once's wrapper and its context cost 136 B per
    // idle connection. release() is idempotent.
    (socket as SlotSocket)[kSlot] = slot;
    socket.on('close', releaseSlot);
    if (startTls) socket.removeAllListeners = removeAllButRelease;
    return slot;
  }

  /** Every slot's release: one function for the listener's slots. */
  readonly #free = (slot: ConnectionSlot): void => {
    // The peer's address and port stay readable once the socket is closed (Node keeps them
    // from their first read, at admission), so the key is not kept in the slot as well.
    this.#slots.delete(keyOf(slot.socket));
    const left = (this.#perAddress.get(slot.address) ?? 1) - 1;
    if (left > 0) this.#perAddress.set(slot.address, left);
    else this.#perAddress.delete(slot.address);
  };

  #noteRefused(address: string, limit: 'perAddress' | 'total'): void {
    this.#refused++;
    const now = Date.now();
    const seen = this.#refusedLog.get(address);
    if (seen && now - seen.at < LOG_EVERY_MS) {
      seen.count++;
      return;
    }
    if (this.#refusedLog.size > 10_000) {
      for (const [a, s] of this.#refusedLog)
        if (now - s.at >= LOG_EVERY_MS) this.#refusedLog.delete(a);
    }
    this.#refusedLog.set(address, { at: now, count: 0 });
    this.#log.warn(
      {
        listener: this.#name,
        remote: address,
        limit,
        refusedSinceLastLog: seen ? seen.count + 1 : 1,
        active: this.#slots.size,
        perAddress: this.#config.perAddress,
        total: this.#config.total,
      },
      'connection refused: too many connections',
    );
  }
}

/**
 * imap-core and smtp-server strip every listener of the plain socket when STARTTLS begins
 * (`removeAllListeners()`), ours included; the plain socket still closes under the TLS one, so
 * the release listener is put back. Set as the socket's own `removeAllListeners`: one function
 * for all sockets.
 */
function removeAllButRelease(
  this: Socket,
  ...args: Parameters<Socket['removeAllListeners']>
): Socket {
  EventEmitter.prototype.removeAllListeners.apply(this, args);
  if (args.length === 0 || args[0] === 'close') this.on('close', releaseSlot);
  return this;
}
