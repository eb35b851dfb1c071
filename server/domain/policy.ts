import { VoicegateError } from './errors.ts';
import type { LiveState } from './message-state.ts';

export interface Policy {
  /** Recordings shorter than this are discarded. */
  minMessageSeconds: number;
  /** Default 120, at most 3600. */
  maxMessageSeconds: number;
  /** 0 to 15 digits. */
  minCodeLength: number;
  /**
   * Wrong codes per mailbox before it is locked for `minutes`; wrong codes from one client
   * address over every mailbox before that address is refused as long (absent: the default).
   */
  lockout: { failures: number; minutes: number; perAddressFailures?: number };
}

export interface HousekeepingRules {
  /** Hours after which a message in each category is deleted (0 = never). */
  deleteAfterHours: Record<LiveState, number>;
  /** Hours after deletion after which a message is purged (0 = never). */
  purgeDeletedAfterHours: number;
}

export type PlaybackOrder = 'fifo' | 'lifo';

export const DEFAULT_PER_ADDRESS_FAILURES = 20;

export const DEFAULT_POLICY: Policy = {
  minMessageSeconds: 1,
  maxMessageSeconds: 120,
  minCodeLength: 4,
  lockout: { failures: 5, minutes: 15, perAddressFailures: DEFAULT_PER_ADDRESS_FAILURES },
};

export const MAX_CODE_LENGTH = 32;

export function checkCode(code: string, policy: Policy): void {
  if (!/^[0-9]*$/.test(code)) {
    throw new VoicegateError(
      'INVALID_INPUT',
      'a voicemail code has digits only (it is keyed on a phone)',
    );
  }
  if (code.length < policy.minCodeLength) {
    throw new VoicegateError(
      'INVALID_INPUT',
      `a voicemail code has at least ${policy.minCodeLength} digits`,
    );
  }
  if (code.length > MAX_CODE_LENGTH) {
    throw new VoicegateError(
      'INVALID_INPUT',
      `a voicemail code has at most ${MAX_CODE_LENGTH} digits`,
    );
  }
}

export function checkMessageLength(durationMs: number, policy: Policy): void {
  if (durationMs < policy.minMessageSeconds * 1000) {
    throw new VoicegateError(
      'TOO_SHORT',
      `message of ${(durationMs / 1000).toFixed(1)} s is shorter than the minimum of ${policy.minMessageSeconds} s`,
    );
  }
  if (durationMs > policy.maxMessageSeconds * 1000) {
    throw new VoicegateError(
      'TOO_LONG',
      `message of ${(durationMs / 1000).toFixed(1)} s is longer than the maximum of ${policy.maxMessageSeconds} s`,
    );
  }
}
