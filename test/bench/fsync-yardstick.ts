/**
 * The machine's own durable-write rate on one filesystem, to divide Voicegate's figures by:
 * - atomic: write a file, fsync, rename into a fan-out folder, fsync the folder (an atomic
 *   file write, as AudioFiles.put does it);
 * - bare: append a small block to an open file and fsync it (about one SQLite WAL commit).
 *
 * Concurrency comes from worker threads running synchronous node:fs calls, one thread per
 * writer, so N writers really are N syscalls in flight. fs/promises would not do: it runs on
 * libuv's thread pool, which has 4 threads unless UV_THREADPOOL_SIZE says otherwise, so 16
 * "concurrent" promise chains would still be at most 4 fsyncs at a time.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Sample } from './bench-kit.ts';
import type { WriterData, WriterResult } from './fsync-worker.ts';

const WORKER = new URL('./fsync-worker.ts', import.meta.url);

/** Creates `tmp/` and the 256 fan-out folders, as a store in use already has them. */
export function prepareFanOut(dir: string): void {
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  for (let i = 0; i < 256; i++)
    mkdirSync(join(dir, i.toString(16).padStart(2, '0')), { recursive: true });
}

export async function measureFsync(opts: {
  mode: 'atomic' | 'bare';
  dir: string;
  writers: number;
  bytes: number;
  seconds: number;
  maxOps: number;
  /**
   * atomic only: after each write its writer waits for this (a commit naming the file, run on
   * the bench's main thread) before its next write.
   */
  commit?: (writer: number, key: string) => Promise<void>;
}): Promise<Sample & { cpuMs: number }> {
  if (opts.mode === 'atomic') prepareFanOut(opts.dir);
  else mkdirSync(opts.dir, { recursive: true });
  const claimed = new SharedArrayBuffer(4);
  const { commit, ...job } = opts;
  const committed = commit ? new SharedArrayBuffer(4 * opts.writers) : undefined;
  const flags = committed ? new Int32Array(committed) : null;
  const workers = Array.from({ length: opts.writers }, (_, index) => {
    const workerData: WriterData = { ...job, index, claimed, committed };
    return new Worker(WORKER, { workerData });
  });
  const onKey = (index: number, msg: unknown): void => {
    const key = (msg as { key?: string }).key;
    if (!commit || key === undefined) return;
    void commit(index, key)
      .catch((err: unknown) => (failure ??= err))
      .finally(() => {
        Atomics.store(flags!, index, 1);
        Atomics.notify(flags!, index);
      });
  };
  let failure: unknown;
  workers.forEach((w, index) => w.on('message', (msg) => onKey(index, msg)));
  try {
    // Start everyone together, once each has warmed up.
    await Promise.all(workers.map((w) => once(w)));
    const results = workers.map(
      (w) =>
        once(w, (msg) => (msg as WriterResult).latenciesMs !== undefined) as Promise<WriterResult>,
    );
    // The process's CPU (all threads, user + system) while the writers run: what the disk's
    // writes cost the machine, to set a deposit's CPU beside.
    const cpu0 = process.cpuUsage();
    for (const w of workers) w.postMessage('go');
    const done = await Promise.all(results);
    const cpu = process.cpuUsage(cpu0);
    if (failure) throw failure;
    const seconds =
      (Math.max(...done.map((r) => r.endedAt)) - Math.min(...done.map((r) => r.startedAt))) / 1000;
    const latenciesMs = done.flatMap((r) => Array.from(r.latenciesMs));
    return { ops: latenciesMs.length, seconds, latenciesMs, cpuMs: (cpu.user + cpu.system) / 1000 };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** The worker's next message (that `accept` takes: others are a commit's), or its error. */
function once(
  worker: Worker,
  accept = (msg: unknown) => (msg as { key?: string }).key === undefined,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: unknown): void => {
      if (!accept(msg)) return;
      worker.off('message', onMessage);
      worker.off('error', onError);
      resolve(msg);
    };
    const onError = (err: Error): void => {
      worker.off('message', onMessage);
      reject(err);
    };
    worker.on('message', onMessage);
    worker.once('error', onError);
  });
}
