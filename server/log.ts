import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Keys that only ever hold a secret: passwords (SMTP relay, PBX, IMAP and SMTP log-ins, SIP),
 * digest HA1s and a mailbox's code hash, web session and CSRF tokens, a changed voicemail code.
 * Redacted wherever they sit, up to three objects deep (`config.sip.pbx.password`).
 */
const SECRET_KEYS = [
  'password',
  'pass',
  'passphrase',
  'secret',
  'token',
  'sessionToken',
  'csrfToken',
  'ha1',
  'ha1Md5',
  'ha1Sha256',
  'codeHash',
  'oldCode',
  'newCode',
  'authorization',
  'cookie',
];
/** Headers that carry a secret, in HTTP requests and replies and in SIP messages. */
const SECRET_HEADERS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-csrf-token',
];
const DEPTHS = ['', '*.', '*.*.', '*.*.*.'];

/**
 * Paths pino blanks, so no code or secret reaches a log. `code` is not one of the keys: it is a
 * logged error's code (`err.code`), which must stay readable. A voicemail code sits under `code`
 * only in a log-in body (`{ mailbox, code }`), so that path is named.
 */
export const REDACT_PATHS = [
  ...DEPTHS.flatMap((d) => SECRET_KEYS.map((k) => `${d}${k}`)),
  ...DEPTHS.flatMap((d) => SECRET_HEADERS.map((h) => `${d}headers["${h}"]`)),
  'body.code',
  '*.body.code',
];

/** A destination beside stderr (the syslog sink), with the least severe level it is given. */
export interface ExtraDestination {
  level: pino.Level;
  stream: { write(line: string): unknown };
}

/**
 * Structured logs on stderr (stdout stays for command output), secrets redacted; the same
 * records, redacted the same way, to each extra destination from its own level on.
 */
export function createLogger(
  level: string,
  destination: NodeJS.WritableStream = process.stderr,
  extra: ExtraDestination[] = [],
): Logger {
  const options = {
    level,
    base: { pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  if (extra.length === 0) return pino(options, destination as pino.DestinationStream);
  const streams = [
    ...(level === 'silent' ? [] : [{ level: level as pino.Level, stream: destination }]),
    ...extra,
  ];
  const values = pino.levels.values;
  const least = streams.reduce(
    (min, s) => (values[s.level]! < values[min]! ? s.level : min),
    streams[0]!.level,
  );
  return pino(
    { ...options, level: least },
    pino.multistream(streams as pino.StreamEntry[], { levels: values }),
  );
}
