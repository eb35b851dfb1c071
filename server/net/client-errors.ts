/**
 * Whether a socket error is the client's doing: it went away (reset, broken pipe, timeout) or
 * abandoned or botched the TLS handshake (a port scanner, a client that distrusts our
 * certificate). Listeners log these at info level; they are no fault of the server's.
 */
export function isClientGone(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  return (
    CLIENT_CODES.has(code) ||
    code.startsWith('ERR_SSL_') ||
    /before secure TLS connection|establish TLS session|socket closed unexpectedly|handshake/i.test(
      message,
    )
  );
}

const CLIENT_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ECONNABORTED',
  // imap-core's names for a failed handshake and a socket that closed without a word.
  'TLSError',
  'SocketError',
]);
