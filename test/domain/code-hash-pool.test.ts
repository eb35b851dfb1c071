import { execFile } from 'node:child_process';
import { scryptSync } from 'node:crypto';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CodeHashPool, type CodeHashPoolOptions } from '../../server/domain/code-hash-pool.ts';
import { isVoicegateError } from '../../server/domain/errors.ts';

const COST = { N: 1024, r: 8, p: 1, keyLength: 32 };
const salt = Buffer.from('0123456789abcdef');
const expected = (code: string): Buffer => scryptSync(code, salt, 32, { N: 1024, r: 8, p: 1 });

const pools: CodeHashPool[] = [];
function makePool(options: Partial<CodeHashPoolOptions> = {}): CodeHashPool {
  const pool = new CodeHashPool({
    threads: 2,
    fallbackThreads: 1,
    maxWaiting: 100,
    nice: 10,
    idleMs: 30_000,
    ...options,
  });
  pools.push(pool);
  return pool;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

/** A thread's nice value, from /proc (field 19 of its stat line). */
function niceOf(path: string): number {
  const stat = readFileSync(path, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return isVoicegateError(err) ? err.code : `OTHER: ${String(err)}`;
  }
  return 'resolved';
}

describe('the code-hashing pool', () => {
  // A check's reply is a message, so none can finish before the test looks at the pool.
  it('derives the same key as scrypt, at most `threads` at once, the rest in line', async () => {
    const pool = makePool({ threads: 2 });
    const codes = Array.from({ length: 6 }, (_, i) => `12${i}4`);
    const keys = codes.map((code) => pool.derive({ code, salt, ...COST }));
    expect(pool.stats()).toEqual({ threads: 2, running: 2, waiting: 4 });
    const results = await Promise.all(keys);
    results.forEach((key, i) => expect(key.equals(expected(codes[i]!))).toBe(true));
    expect(pool.stats()).toEqual({ threads: 2, running: 0, waiting: 0 });
  });

  it('refuses a check as UNAVAILABLE when the line is full, and finishes the others', async () => {
    const pool = makePool({ threads: 1, maxWaiting: 2 });
    const accepted = ['1111', '2222', '3333'].map((code) => pool.derive({ code, salt, ...COST }));
    expect(await failure(pool.derive({ code: '4444', salt, ...COST }))).toBe('UNAVAILABLE');
    expect(pool.stats()).toEqual({ threads: 1, running: 1, waiting: 2 });
    const keys = await Promise.all(accepted);
    expect(keys[2]!.equals(expected('3333'))).toBe(true);
  });

  it('fails only the check a dying thread held, and starts a new thread for the next', async () => {
    const pool = makePool({
      threads: 1,
      workerUrl: new URL('./fixtures/crashing-hash-worker.ts', import.meta.url),
    });
    const crashed = failure(pool.derive({ code: 'crash', salt, ...COST }));
    const next = pool.derive({ code: '4711', salt, ...COST });
    expect(await crashed).toBe('UNAVAILABLE');
    expect((await next).equals(expected('4711'))).toBe(true);
    expect(pool.stats().threads).toBe(1);
  });

  it('runs its threads at nice 10 on Linux while the event loop stays at its own', async () => {
    const pool = makePool({ threads: 2 });
    await Promise.all(['1', '2'].map((code) => pool.derive({ code, salt, ...COST })));
    const threads = pool.priorities();
    expect(threads).toHaveLength(2);
    for (const { tid } of threads) expect(niceOf(`/proc/self/task/${tid}/stat`)).toBe(10);
    expect(niceOf('/proc/thread-self/stat')).toBe(niceOf('/proc/self/stat'));
    expect(niceOf('/proc/thread-self/stat')).toBeLessThan(10);
  });

  it('lowers a thread before it starts up, so its start-up waits for idle CPU too', async () => {
    const pool = makePool({
      threads: 1,
      workerUrl: new URL('./fixtures/nice-at-start-worker.js', import.meta.url),
    });
    expect((await pool.derive({ code: '5', salt, ...COST })).equals(expected('5'))).toBe(true);
    const [thread] = pool.priorities();
    expect(thread?.nice).toBe(10);
    expect(niceOf(`/proc/self/task/${thread!.tid}/stat`)).toBe(10);
  });

  it('leaves a core to the event loop where priorities are left alone', async () => {
    const pool = makePool({ threads: 2, fallbackThreads: 1, nice: null });
    const keys = ['1', '2', '3'].map((code) => pool.derive({ code, salt, ...COST }));
    expect(pool.stats()).toEqual({ threads: 1, running: 1, waiting: 2 });
    await Promise.all(keys);
  });

  it('ends its threads on close, failing what runs and waits; a later check starts anew', async () => {
    const pool = makePool({ threads: 1 });
    const running = failure(pool.derive({ code: '1', salt, ...COST }));
    const waiting = failure(pool.derive({ code: '2', salt, ...COST }));
    await pool.close();
    expect(await running).toBe('UNAVAILABLE');
    expect(await waiting).toBe('UNAVAILABLE');
    expect(pool.stats()).toEqual({ threads: 0, running: 0, waiting: 0 });
    expect((await pool.derive({ code: '3', salt, ...COST })).equals(expected('3'))).toBe(true);
  });

  it('ends a thread left idle', async () => {
    const pool = makePool({ idleMs: 50 });
    await pool.derive({ code: '1', salt, ...COST });
    await vi.waitFor(() => expect(pool.stats().threads).toBe(0), { timeout: 5000 });
  });

  it('never keeps a process alive: one that checked a code exits by itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vg-hash-'));
    try {
      const script = join(dir, 'check.ts');
      const module = new URL('../../server/domain/code-hash.ts', import.meta.url).href;
      writeFileSync(
        script,
        `import { hashCode, verifyCode } from '${module}';\n` +
          `const cost = { N: 1024, r: 8, p: 1 };\n` +
          `console.log(await verifyCode('4711', await hashCode('4711', cost)));\n`,
      );
      const { stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 20_000 });
      expect(stdout.trim()).toBe('true');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
