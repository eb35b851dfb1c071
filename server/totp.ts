import { Secret, TOTP } from 'otpauth';
import type { SecondFactor } from './domain/admin.ts';

const PERIOD = 30;

/**
 * RFC 6238 one-time codes (SHA-1, 6 digits, 30 s: what every authenticator app reads), by the
 * otpauth library. A code of the step before or after is accepted, for clocks a little apart;
 * `check` names the step it matched, so the store can take each code only once.
 */
export function totpSecondFactor(issuer: string): SecondFactor {
  const totp = (secret: string, label = ''): TOTP =>
    new TOTP({
      issuer,
      label,
      algorithm: 'SHA1',
      digits: 6,
      period: PERIOD,
      secret: Secret.fromBase32(secret),
    });
  return {
    newSecret: () => new Secret({ size: 20 }).base32,
    uri: (account, secret) => totp(secret, account).toString(),
    check: (secret, code, now) => {
      if (!/^\d{6}$/.test(code)) return null;
      const delta = totp(secret).validate({ token: code, timestamp: now, window: 1 });
      return delta === null ? null : Math.floor(now / 1000 / PERIOD) + delta;
    },
  };
}
