/**
 * What a call flow sees of a live call. Flows never touch SIP or RTP: the telephony layer
 * implements this port for real calls, and tests drive flows with a scripted one.
 */

/** Facts about a call, taken from its INVITE. Caller data is untrusted text. */
export interface CallInfo {
  callId: string;
  /** The caller's number (From user part, or P-Asserted-Identity from a trusted peer); null when withheld. */
  callerNumber: string | null;
  /** The caller's display name, if any. */
  callerName: string | null;
  /** The number dialled: the Request-URI's user part. */
  dialled: string;
  /** The originally called number of a forwarded call (Diversion or History-Info). */
  forwardedFrom: string | null;
  /** Why the call was forwarded, as given (user-busy, no-answer, unconditional...). */
  forwardReason: string | null;
  /** The language the call asks for (Accept-Language), e.g. fr-CA. */
  language: string | null;
  /** The signalling peer, address:port, for logs and lockout records. */
  remote: string;
  /**
   * Who vouches for callerNumber: a trusted PBX ('peer'), or the caller's phone by SIP digest
   * with that extension's credentials ('digest'). Absent: it is only what the caller claims.
   */
  vouchedBy?: 'peer' | 'digest';
}

export type PlayResult = 'done' | 'key' | 'hangup';

/**
 * How a transfer ended: the far end took it, refused it, or the dial plan does not allow the
 * number (nothing was sent; the caller should hear that the number cannot be called).
 */
export type TransferResult = 'transferred' | 'failed' | 'not-allowed';

export interface Recording {
  /** 8 kHz mono 16-bit samples, trailing silence and the stop key's tone trimmed. */
  samples: Int16Array;
  endedBy: 'key' | 'silence' | 'max' | 'hangup';
  /** The key that ended it, when endedBy is 'key'. */
  key: string | null;
}

export interface RecordOptions {
  maxMs: number;
  /** Stop after this long without speech; 0 = never. */
  silenceMs: number;
  /** Keys that end the recording (e.g. '#'); the key is consumed. */
  stopKeys: string;
}

/** The caller hung up: every pending and later media operation rejects with this. */
export class HangUp extends Error {
  constructor() {
    super('the caller hung up');
    this.name = 'HangUp';
  }
}

export interface Call {
  readonly info: CallInfo;
  /** True once either side ended the call. */
  readonly ended: boolean;
  /**
   * Plays 8 kHz mono 16-bit samples. With `interruptible`, a key stops playback and stays
   * queued for nextKey(). Resolves 'hangup' (never rejects) when the call ends meanwhile.
   */
  play(samples: Int16Array, opts?: { interruptible?: boolean }): Promise<PlayResult>;
  /** The next key (0-9, *, #, A-D) typed or queued; null after timeoutMs. Rejects HangUp. */
  nextKey(timeoutMs: number): Promise<string | null>;
  /** Forgets keys typed ahead. */
  clearKeys(): void;
  /** Records the caller until a stop key, silence, the maximum or hang-up. Never rejects on hang-up. */
  record(opts: RecordOptions): Promise<Recording>;
  /**
   * Blind transfer (REFER) to a number (a dial string; the telephony layer builds the URI and
   * checks the dial plan). Never rejects.
   */
  transfer(target: string): Promise<TransferResult>;
  /** Ends the call (BYE); resolves once sent. */
  hangup(): Promise<void>;
}
