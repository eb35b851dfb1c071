import { execFile } from 'node:child_process';
import { scryptSync } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** A process's minor page faults so far, from /proc (field 10 of its stat line). */
function minorFaults(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
}

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
    expect(pool.stats()).toEqual({ processes: 1, running: 2, waiting: 4 });
    const results = await Promise.all(keys);
    results.forEach((key, i) => expect(key.equals(expected(codes[i]!))).toBe(true));
    expect(pool.stats()).toEqual({ processes: 1, running: 0, waiting: 0 });
  });

  it('refuses a check as UNAVAILABLE when the line is full, and finishes the others', async () => {
    const pool = makePool({ threads: 1, maxWaiting: 2 });
    const accepted = ['1111', '2222', '3333'].map((code) => pool.derive({ code, salt, ...COST }));
    expect(await failure(pool.derive({ code: '4444', salt, ...COST }))).toBe('UNAVAILABLE');
    expect(pool.stats()).toEqual({ processes: 1, running: 1, waiting: 2 });
    const keys = await Promise.all(accepted);
    expect(keys[2]!.equals(expected('3333'))).toBe(true);
  });

  it('fails only the check a dying process held, and starts a new process for the next', async () => {
    const pool = makePool({
      threads: 1,
      processUrl: new URL('./fixtures/crashing-hash-process.js', import.meta.url),
    });
    const crashed = failure(pool.derive({ code: 'crash', salt, ...COST }));
    const next = pool.derive({ code: '4711', salt, ...COST });
    expect(await crashed).toBe('UNAVAILABLE');
    expect((await next).equals(expected('4711'))).toBe(true);
    expect(pool.stats().processes).toBe(1);
  });

  it('hashes at nice 10 on Linux, on its threads, while the event loop stays at its own', async () => {
    const pool = makePool({ threads: 2 });
    await Promise.all(['1', '2', '3', '4'].map((code) => pool.derive({ code, salt, ...COST })));
    const pid = pool.priority()!.pid;
    expect(pid).not.toBe(process.pid);
    // The threads that ran scrypt (libuv's pool in the hashing process) and its main thread.
    const hashing = readdirSync(`/proc/${pid}/task`).filter(
      (tid) => readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() === 'libuv-worker',
    );
    expect(hashing).toHaveLength(2);
    for (const tid of [String(pid), ...hashing])
      expect(niceOf(`/proc/${pid}/task/${tid}/stat`)).toBe(10);
    expect(niceOf('/proc/thread-self/stat')).toBe(niceOf('/proc/self/stat'));
    expect(niceOf('/proc/thread-self/stat')).toBeLessThan(10);
  });

  it('lowers the process before it starts up, so its start-up waits for idle CPU too', async () => {
    const pool = makePool({
      threads: 1,
      processUrl: new URL('./fixtures/nice-at-start-process.js', import.meta.url),
    });
    expect((await pool.derive({ code: '5', salt, ...COST })).equals(expected('5'))).toBe(true);
    const priority = pool.priority();
    expect(priority?.nice).toBe(10);
    expect(niceOf(`/proc/${priority!.pid}/stat`)).toBe(10);
  });

  it('leaves a core to the event loop where priorities are left alone', async () => {
    const pool = makePool({ threads: 2, fallbackThreads: 1, nice: null });
    const keys = ['1', '2', '3'].map((code) => pool.derive({ code, salt, ...COST }));
    expect(pool.stats()).toEqual({ processes: 1, running: 1, waiting: 2 });
    await Promise.all(keys);
  });

  it('keeps the scrypt block from one check to the next: no page faults per check', async () => {
    // The server's allocator (jemalloc) gave each check's block back to the system; the hashing
    // process runs on glibc's malloc, whatever the server's environment says.
    const pool = makePool({ threads: 1 });
    const cost = { N: 16384, r: 8, p: 1, keyLength: 32 };
    // glibc's first block is mapped apart and given back; once freed, it raises its mmap
    // threshold and the second comes from the heap, to stay.
    await pool.derive({ code: '1', salt, ...cost });
    await pool.derive({ code: '1', salt, ...cost });
    const pid = pool.priority()!.pid;
    const faults0 = minorFaults(pid);
    for (const code of ['2', '3', '4', '5']) await pool.derive({ code, salt, ...cost });
    // A 16 MiB block faulted in afresh is 4,096 faults per check.
    expect((minorFaults(pid) - faults0) / 4).toBeLessThan(500);
  });

  it('ends its threads on close, failing what runs and waits; a later check starts anew', async () => {
    const pool = makePool({ threads: 1 });
    const running = failure(pool.derive({ code: '1', salt, ...COST }));
    const waiting = failure(pool.derive({ code: '2', salt, ...COST }));
    await pool.close();
    expect(await running).toBe('UNAVAILABLE');
    expect(await waiting).toBe('UNAVAILABLE');
    expect(pool.stats()).toEqual({ processes: 0, running: 0, waiting: 0 });
    expect((await pool.derive({ code: '3', salt, ...COST })).equals(expected('3'))).toBe(true);
  });

  it('ends a process left idle', async () => {
    const pool = makePool({ idleMs: 50 });
    await pool.derive({ code: '1', salt, ...COST });
    const pid = pool.priority()!.pid;
    await vi.waitFor(() => expect(pool.stats().processes).toBe(0), { timeout: 5000 });
    await vi.waitFor(() => expect(existsSync(`/proc/${pid}`)).toBe(false), { timeout: 5000 });
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

  it('lets a process wait for the hashing process to end once idle (a server shutting down)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vg-hash-'));
    try {
      const script = join(dir, 'stop.ts');
      const module = new URL('../../server/domain/code-hash.ts', import.meta.url).href;
      // Idle, the hashing process holds nothing open; the wait for its end must, or the
      // script's last await is left unsettled and Node exits with code 13.
      writeFileSync(
        script,
        `import { hashCode, stopCodeHashing } from '${module}';\n` +
          `await hashCode('4711', { N: 1024, r: 8, p: 1 });\n` +
          `await new Promise((resolve) => setTimeout(resolve, 50));\n` +
          `await stopCodeHashing();\n` +
          `console.log('stopped');\n`,
      );
      const { stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 20_000 });
      expect(stdout.trim()).toBe('stopped');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
