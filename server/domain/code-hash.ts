import { randomBytes, timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { CodeHashPool } from './code-hash-pool.ts';

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
 * Hashing is CPU-bound and takes tens of milliseconds: it runs in a process of its own
 * (`code-hash-pool.ts`), never on the event loop, nor on libuv's shared pool where file reads
 * wait behind it. On Linux it runs as many checks at once as there are cores, at a lower CPU
 * priority (nice 19, the lowest) than the event loop and the media thread: log-ins use every
 * core left idle, yet the kernel preempts hashing at once for a greeting, a reply or an RTP
 * packet. Where its priority cannot be lowered, one core is left to the event loop instead
 * (cores - 1 at once). At most 256 more wait in line; beyond that a check is refused as
 * UNAVAILABLE. The process starts with the first hash, and while idle never keeps the server
 * alive; it ends 30 s after its last check.
 */
export const HASHING_NICE = 19;
const MAX_WAITING = 256;
const IDLE_MS = 30_000;
let pool: CodeHashPool | undefined;

function sharedPool(): CodeHashPool {
  const cores = availableParallelism();
  const linux = process.platform === 'linux';
  return (pool ??= new CodeHashPool({
    threads: cores,
    fallbackThreads: cores - 1,
    maxWaiting: MAX_WAITING,
    nice: linux ? HASHING_NICE : null,
    idleMs: IDLE_MS,
  }));
}

/** Ends the hashing process (a process that wants it gone before it exits); later hashes start a new one. */
export function stopCodeHashing(): Promise<void> {
  return pool?.close() ?? Promise.resolve();
}

function derive(code: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  return sharedPool().derive({ code, salt, ...cost, keyLength: KEY_LENGTH });
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
