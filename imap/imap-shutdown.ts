/* eslint-disable @typescript-eslint/no-explicit-any -- imap-core's server and connections are untyped */
import type { ImapSession } from './imap-core.ts';

/** An IMAP connection as imap-core keeps it; only what ending it needs. */
interface CoreConnection {
  idling: boolean;
  _nextHandler: ((token: string, next: () => void) => void) | false;
  send(line: string): void;
  close(force?: boolean): void;
}

/** The connection behind a session (imap-core hangs it on the session's write stream). */
export function connectionOf(session: ImapSession): CoreConnection | undefined {
  return (session.writeStream as unknown as { connection?: CoreConnection } | undefined)
    ?.connection;
}

/**
 * Ends an IDLE as a DONE from the client would, so that the IDLE's end hooks run (the
 * notifier lets the session go) for a session closed without another line from its client.
 */
export function endIdle(connection: CoreConnection | undefined): void {
  if (!connection?.idling || typeof connection._nextHandler !== 'function') return;
  connection._nextHandler('DONE', () => {});
}

/**
 * Ends every session of an imap-core server at once, with a BYE, rather than after its close
 * grace period: an idle client would only spend it waiting.
 */
export function closeSessions(server: any): void {
  for (const connection of [...(server.connections as Set<CoreConnection>)]) {
    endIdle(connection);
    connection.send('* BYE Server shutting down');
    connection.close();
  }
}
