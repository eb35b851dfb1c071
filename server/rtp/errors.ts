/**
 * The media layer's one error type. `code` is stable so the SIP layer can map it to its wire
 * form (NO_COMMON_CODEC -> 488 Not Acceptable Here, BAD_SDP -> 400, NO_PORTS -> 503); `message`
 * names the problem for a person reading the log.
 */
export const RTP_ERROR_CODES = [
  'BAD_SDP',
  'NO_COMMON_CODEC',
  'NO_PORTS',
  'INVALID_STATE',
  /** The media thread failed a request, died, or was stopped. */
  'MEDIA_THREAD',
] as const;
export type RtpErrorCode = (typeof RTP_ERROR_CODES)[number];

export class RtpError extends Error {
  readonly code: RtpErrorCode;
  constructor(code: RtpErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RtpError';
    this.code = code;
  }
}

/** The offer holds no PCMU or PCMA stream we can use; the SIP layer answers 488. */
export class NoCommonCodec extends RtpError {
  constructor(message: string) {
    super('NO_COMMON_CODEC', message);
    this.name = 'NoCommonCodec';
  }
}

export function isRtpError(err: unknown, code?: RtpErrorCode): err is RtpError {
  return err instanceof RtpError && (code === undefined || err.code === code);
}
