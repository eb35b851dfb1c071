import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';

/**
 * Voicemail codes are short digit strings, so the hash must be slow: scrypt with a per-code salt,
 * stored as `scrypt$N$r$p$salt$hash` (base64) so the cost can be raised later without breaking
 * existing hashes.
 */
const KEY_LENGTH = 32;
export const DEFAULT_COST = { N: 16384, r: 8, p: 1 } as const;

export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

/**
 * Hashing is CPU-bound: running more at once than there are cores only makes each slower and
 * takes the thread pool from file I/O. One core is left to the event loop and the media threads,
 * so that a burst of log-ins cannot delay greetings, replies or RTP. Extra requests wait in line.
 */
const MAX_CONCURRENT = Math.max(1, availableParallelism() - 1);
let running = 0;
const waiting: (() => void)[] = [];

async function derive(code: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  if (running >= MAX_CONCURRENT) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await new Promise((resolve, reject) => {
      scrypt(
        code,
        salt,
        KEY_LENGTH,
        { ...cost, maxmem: 256 * cost.N * cost.r + 1024 * 1024 },
        (err, key) => (err ? reject(err) : resolve(key)),
      );
    });
  } finally {
    running--;
    waiting.shift()?.();
  }
}

export async function hashCode(code: string, cost: ScryptCost = DEFAULT_COST): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(code, salt, cost);
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64'), key.toString('base64')].join(
    '$',
  );
}

export async function verifyCode(code: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64');
  const key = await derive(code, Buffer.from(salt, 'base64'), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}
