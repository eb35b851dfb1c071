/* eslint-disable @typescript-eslint/no-explicit-any -- imap-core's server and connections are untyped */
import type { ConnectionLimits, ConnectionSlot } from '../server/net/connection-limits.ts';
import type { Callback, ImapSession } from './imap-core.ts';

/**
 * An IMAP connection as imap-core keeps it (`session.writeStream.connection`); only what the
 * deadlines need.
 */
interface CoreConnection {
  secure: boolean;
  _upgrading: boolean;
  _socket: { remoteAddress?: string; remotePort?: number; pause(): void };
  send(line: string): void;
  close(force?: boolean): void;
}

/**
 * The connection limits and deadlines of one imap-core server (the 'connection' listener of its
 * own net server is wrapped, so refused sockets never reach imap-core):
 * - a connection over the limits gets `* BYE Too many connections` (plain port; on the TLS
 *   port nothing can be said before the handshake) and is closed;
 * - the TLS handshake (implicit, or after STARTTLS) must finish within `handshakeSeconds`;
 * - login (LOGIN or AUTHENTICATE) must succeed within `preAuthSeconds` of connecting,
 *   however many bytes arrive meanwhile (imap-core's own timer is an idle one).
 * Returns the `onConnect` handler for imap-core's options.
 */
export function limitImap(
  server: any,
  limits: ConnectionLimits,
  secure: boolean,
): (session: ImapSession, cb: Callback) => void {
  const { handshakeSeconds, preAuthSeconds } = limits.config;
  limits.guard(server.server, {
    // Port 993 has no STARTTLS: imap-core never strips its sockets' listeners.
    startTls: !secure,
    refuse: secure ? undefined : (socket) => socket.write('* BYE Too many connections\r\n'),
    admitted: (slot) => {
      slot.deadline('login', preAuthSeconds, 'Login timeout');
      if (secure) slot.deadline('handshake', handshakeSeconds, 'TLS handshake timeout');
    },
  });

  server.on('starttls', (connection: CoreConnection) => {
    limits
      .slotOf(connection._socket)
      ?.deadline('handshake', handshakeSeconds, 'TLS handshake timeout', () => !connection.secure);
  });

  const onAuth = server.onAuth;
  server.onAuth = (login: unknown, session: ImapSession, cb: Callback) =>
    onAuth(login, session, (err: Error | null, result?: { user?: unknown }) => {
      if (!err && result?.user) limits.slotOf(session.socket)?.done('login');
      cb(err, result);
    });

  // A connection imap-core has taken ends through its close handling, whatever ends it (the
  // socket's close, its end, a forced close after LOGOUT).
  const onClose = server.onClose;
  server.onClose = (session: ImapSession, cb: Callback) => {
    limits.slotOf(session.socket)?.release();
    if (onClose) onClose(session, cb);
    else cb(null);
  };

  return (session, cb) => {
    const slot = limits.slotOf(session.socket);
    if (slot) {
      // imap-core connects a TLS socket only once its handshake is done.
      slot.done('handshake');
      slot.session = (session.writeStream as unknown as { connection: CoreConnection }).connection;
      slot.expire = sayBye;
      // On the plain port imap-core listens on the admitted socket itself (the TLS port's
      // socket is the TLS one over it): its close handling releases the slot (above), so the
      // socket's 'close' has one listener, not two.
      if (session.socket === slot.socket) slot.releasedByProtocol();
    }
    cb(null);
  };
}

/**
 * A slot's expiry once imap-core has the session (`slot.session`, its connection): one function
 * for every slot. Nothing sent after the deadline is read; the answer to a command already taken
 * goes out first, so the BYE is the last line.
 */
function sayBye(this: ConnectionSlot, reason: string): void {
  const connection = this.session as CoreConnection;
  connection._socket.pause();
  setImmediate(() => {
    // Mid-handshake (STARTTLS) a plaintext line would only garble it.
    if (!connection._upgrading) connection.send(`* BYE ${reason}`);
    setImmediate(() => connection.close(true));
  });
}
