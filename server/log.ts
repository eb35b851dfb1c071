import pino, { type Logger } from 'pino';

export type { Logger };

/** Paths pino blanks wherever they appear, so no code or secret reaches a log. */
export const REDACT_PATHS = [
  'code',
  'oldCode',
  'newCode',
  'password',
  'pass',
  'secret',
  'token',
  'authorization',
  '*.code',
  '*.password',
  '*.pass',
  '*.secret',
  '*.token',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

/** Structured logs on stderr (stdout stays for command output), secrets redacted. */
export function createLogger(
  level: string,
  destination: NodeJS.WritableStream = process.stderr,
): Logger {
  return pino(
    { level, base: { pid: process.pid }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    destination as pino.DestinationStream,
  );
}
