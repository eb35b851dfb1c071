/**
 * Loading WildDuck's imap-core. It ships no typings and its package reads a config file when
 * first required unless DISABLE_WILD_CONFIG is set, so everything from it comes through here.
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { Socket } from 'node:net';
import { imapResponseCode } from './replies.ts';

process.env.DISABLE_WILD_CONFIG ??= 'true';
const require = createRequire(import.meta.url);

/* eslint-disable @typescript-eslint/no-explicit-any -- imap-core is untyped JavaScript */
export type Callback = (err: Error | null, ...results: any[]) => void;

export interface ImapSession {
  id: string;
  user: { id: number; username: string };
  selected?: {
    mailbox: string;
    uidList: number[];
    readOnly: boolean;
    condstoreEnabled: boolean;
    modifyIndex: number;
  };
  remoteAddress: string;
  socket: Socket;
  writeStream: { write(data: any, cb?: () => void): boolean };
  formatResponse(command: string, uid: number, data?: object): any;
  getQueryResponse(query: any[], msg: object, opts: object): any[];
  matchSearchQuery(msg: object, query: any, cb: (err: Error | null, match: boolean) => void): void;
  isUTF8Enabled(): boolean;
}

export const { IMAPServer, imapHandler } = require('@zone-eu/wildduck/imap-core') as {
  IMAPServer: new (options: Record<string, unknown>) => any;
  imapHandler: { compiler(resp: any): string; compileStream(resp: any): any };
};

/** imap-core's helpers module: every command calls its functions through this object. */
const imapTools = require('@zone-eu/wildduck/imap-core/lib/imap-tools') as {
  sendCapabilityResponse: (connection: { send(line: string): void }) => void;
  validateSequence(range: unknown): boolean;
  validateSearchDate(date: unknown): boolean;
};

/**
 * imap-core replies to CREATE, RENAME, DELETE and APPEND without a way for the application to
 * say why it refuses them (a hook can only pick a response code). Voicegate's folders are fixed
 * and IMAP is no way to inject voicemail, so these commands are answered here, with the reason.
 */
const REFUSALS: Record<string, string> = {
  create: 'Voicemail folders are fixed (INBOX and Trash); new folders cannot be created',
  rename: 'Voicemail folders are fixed (INBOX and Trash) and cannot be renamed',
  delete: 'Voicemail folders are fixed (INBOX and Trash) and cannot be deleted',
  append: 'Voicemail arrives by phone, e-mail or the web, not by IMAP APPEND',
  copy: 'Voicemail is moved, not copied: use MOVE, or \\Deleted and EXPUNGE to move it to Trash',
};
for (const [command, message] of Object.entries(REFUSALS)) {
  const handler = require(`@zone-eu/wildduck/imap-core/lib/commands/${command}`) as {
    handler: (command: unknown, cb: Callback) => void;
  };
  handler.handler = (_command, cb) => cb(null, { response: 'NO', code: 'CANNOT', message });
}

/**
 * The CAPABILITY line, as sent for the command and after LOGIN and AUTHENTICATE: without what
 * Voicegate does not offer, APPENDLIMIT (APPEND is always refused) and XLIST (Gmail's forerunner
 * of SPECIAL-USE, which is advertised), and with LITERAL- (RFC 7888), which imap-core parses
 * with the patch in patches/ (non-synchronizing literals up to 4096 bytes).
 */
const NOT_OFFERED = [/^APPENDLIMIT(=|$)/i, /^XLIST$/i];
const ADDED = ['LITERAL-'];
const sendCapabilities = imapTools.sendCapabilityResponse;
imapTools.sendCapabilityResponse = (connection) => {
  const send = connection.send;
  connection.send = (line: string) =>
    send.call(
      connection,
      line.startsWith('* CAPABILITY ')
        ? [...line.split(' ').filter((c) => !NOT_OFFERED.some((re) => re.test(c))), ...ADDED].join(
            ' ',
          )
        : line,
    );
  try {
    sendCapabilities(connection);
  } finally {
    connection.send = send;
  }
};

type CommandModule = { handler: (this: Connection, command: unknown, cb?: Callback) => void };
interface Connection {
  send(line: string): void;
  close(force?: boolean): void;
  secure: boolean;
  _server: { emit(event: string, ...args: unknown[]): boolean };
  compression?: boolean;
  _deflate?: { flush(cb: () => void): void } | null;
  _socket?: { destroyed: boolean; write(data: string, cb: () => void): void };
}
const command = (name: string): CommandModule =>
  require(`@zone-eu/wildduck/imap-core/lib/commands/${name}`) as CommandModule;

/**
 * SELECT and EXAMINE announce every system flag as permanent, but a voicemail keeps only
 * \Seen, \Flagged and \Deleted: say so, or clients (mbsync) think \Answered was stored.
 */
const PERMANENT = '* OK [PERMANENTFLAGS (\\Seen \\Flagged \\Deleted)] Flags permitted';
const select = command('select');
const selectHandler = select.handler;
select.handler = function (this: Connection, cmd, cb) {
  const send = this.send;
  this.send = (line: string) =>
    send.call(this, line.startsWith('* OK [PERMANENTFLAGS ') ? PERMANENT : line);
  selectHandler.call(this, cmd, (err, ...rest) => {
    this.send = send;
    cb!(err, ...rest);
  });
};

/**
 * LOGOUT closes the socket on the next tick; under COMPRESS=DEFLATE the BYE and OK may still
 * sit in zlib then. Flush first, so the client sees a clean logout.
 */
const logout = command('logout');
const logoutHandler = logout.handler;
logout.handler = function (this: Connection, cmd) {
  if (this.compression && this._deflate) {
    const close = this.close;
    this.close = () => {
      this.close = close; // once
      const deflate = this._deflate;
      // The socket may have closed first (imap-core then drops the deflate stream).
      if (!deflate) return close.call(this);
      // After the flush the compressed bytes still pass through the pipe to the socket; an
      // empty write's callback comes once everything before it has been handed to the kernel.
      deflate.flush(() =>
        setImmediate(() => {
          const socket = this._socket;
          if (!socket || socket.destroyed) return close.call(this);
          socket.write('', () => close.call(this));
        }),
      );
    };
  }
  logoutHandler.call(this, cmd);
};

/**
 * imap-core's sequence-set check accepts 0 and reads it as 1 (`Number(part) || 1`), so FETCH 0
 * or UID STORE 0:* acted on the first message. RFC 3501 and 9051 allow only nz-number (1 to
 * 2^32-1) or "*": anything else answers BAD. Every command and SEARCH calls this function
 * through the module object, so replacing it here covers them all.
 */
const MAX_NUMBER = 4294967295;
const SEQ_NUMBER = '(?:[1-9][0-9]{0,9}|\\*)';
const SEQUENCE_SET = new RegExp(
  `^${SEQ_NUMBER}(?::${SEQ_NUMBER})?(?:,${SEQ_NUMBER}(?::${SEQ_NUMBER})?)*$`,
);
imapTools.validateSequence = (range) =>
  typeof range === 'string' &&
  SEQUENCE_SET.test(range) &&
  range.split(/[:,]/).every((n) => n === '*' || Number(n) <= MAX_NUMBER);

/**
 * SEARCH SINCE 32-Jan-2020 (or day 0) passes imap-core's date check, becomes an Invalid Date,
 * and its matcher throws from a timer: an uncaught exception that ended the process (found by
 * test/fuzz/imap-fuzz.test.ts). A date must also be a real day: anything else answers BAD.
 */
const validateSearchDate = imapTools.validateSearchDate;
imapTools.validateSearchDate = (date) =>
  validateSearchDate(date) &&
  Number(String(date).split('-')[0]) >= 1 &&
  !Number.isNaN(new Date(String(date)).getTime());

/**
 * STARTTLS: imap-core gives the handshake that follows only its idle timeout, which every byte
 * of a trickled ClientHello resets. The server hears of it (`starttls`, with the connection),
 * so a deadline can be armed.
 */
const starttls = command('starttls');
const starttlsHandler = starttls.handler;
starttls.handler = function (this: Connection, cmd, cb) {
  const upgrading = !this.secure;
  starttlsHandler.call(this, cmd, cb);
  if (upgrading) this._server.emit('starttls', this);
};

/** imap-core reports connection errors (failed handshakes...) here; they go to our log. */
export function routeImapCoreErrors(emit: (report: Record<string, unknown>) => void): void {
  const reporting = require('@zone-eu/wildduck/imap-core/lib/reporting.js') as {
    setReporter(fn: (report: Record<string, unknown>) => void): void;
  };
  reporting.setReporter(emit);
}

/**
 * Some of imap-core's command handlers read their arguments without checking them and throw
 * when they are missing (`a1 ENABLE` with nothing after it read `undefined.map`), and a throw
 * there ended the process (found by test/fuzz/imap-fuzz.test.ts). Every command's handler is
 * wrapped once, after the replacements above: a synchronous throw answers that command BAD.
 */
const COMMANDS_DIR = dirname(require.resolve('@zone-eu/wildduck/imap-core/lib/commands/noop'));
for (const file of readdirSync(COMMANDS_DIR).filter((f) => f.endsWith('.js'))) {
  const module = command(file.slice(0, -3));
  const handler = module.handler;
  if (typeof handler !== 'function') continue;
  // Some handlers take a third argument (imap-core's `next`): every argument goes through.
  module.handler = function (this: Connection, ...args: unknown[]) {
    try {
      (handler as (...a: unknown[]) => void).apply(this, args);
    } catch {
      const err = Object.assign(new Error('Invalid arguments'), { response: 'BAD' });
      (args[1] as Callback | undefined)?.(err);
    }
  } as CommandModule['handler'];
}

/**
 * Wraps an async hook so that imap-core always gets its callback, and never an exception. An
 * error with a `response` is a reply meant for the client (e.g. a lockout) and goes as it is.
 * Any other failure is answered with its response code (`replies.ts`) as the hook's result,
 * which imap-core sends as `NO [CODE]`: given the error itself, most of its commands would say
 * `NO [TEMPFAIL]` whatever it was. `onError` gets the failure and the hook's session.
 */
export function hook<A extends any[]>(
  fn: (...args: A) => Promise<any[]>,
  onError: (err: unknown, session: ImapSession | undefined) => void,
): (...args: [...A, Callback]) => void {
  return (...args) => {
    const cb = args.pop() as Callback;
    // imap-core passes the session last, before the callback.
    const session = args.at(-1) as ImapSession | undefined;
    let done = false;
    const once: Callback = (err, ...results) => {
      if (done) return;
      done = true;
      cb(err, ...results);
    };
    const fail = (err: unknown): void => {
      const refusal = err as { response?: unknown; cause?: unknown } | null;
      if (refusal?.response) {
        if (refusal.cause) onError(refusal.cause, session);
        return once(err as Error);
      }
      onError(err, session);
      once(null, imapResponseCode(err));
    };
    try {
      fn(...(args as unknown as A)).then((results) => once(null, ...results), fail);
    } catch (err) {
      fail(err);
    }
  };
}
