/**
 * One yardstick writer, run in a worker thread so that N writers are N threads each blocked in
 * its own synchronous syscall: the concurrency the disk sees is exactly N. Plain node:fs sync
 * calls, no Voicegate code. See fsync-yardstick.ts for the protocol.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';

export interface WriterData {
  mode: 'atomic' | 'bare';
  dir: string;
  index: number;
  bytes: number;
  seconds: number;
  maxOps: number;
  /** Int32[0]: operations claimed by all writers together, so the cap is shared. */
  claimed: SharedArrayBuffer;
  /**
   * With `commit`: after each atomic write the writer posts its key and waits, blocked, until
   * the main thread set Int32[index] to 1 (it committed a row naming that file).
   */
  committed?: SharedArrayBuffer;
}

export interface WriterResult {
  latenciesMs: Float64Array;
  /** performance.timeOrigin + performance.now(): comparable across threads. */
  startedAt: number;
  endedAt: number;
}

const data = workerData as WriterData;
const claimed = new Int32Array(data.claimed);
const payload = Buffer.alloc(data.bytes, 0x5a);
const now = (): number => performance.timeOrigin + performance.now();

function writeAll(fd: number, bytes: Buffer): void {
  for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
}

const committed = data.committed ? new Int32Array(data.committed) : null;

/** What AudioFiles.put does: temp file, write, fsync, rename into a fan-out folder, fsync it. */
function atomicWrite(): string {
  const key = randomUUID();
  const tmp = join(data.dir, 'tmp', `${key}.tmp`);
  const folder = join(data.dir, key.slice(0, 2));
  const fd = openSync(tmp, 'wx', 0o640);
  try {
    writeAll(fd, payload);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(folder, `${key}.wav`));
  const dfd = openSync(folder, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
  return key;
}

/** An atomic write, then the main thread's commit of a row naming it, waited for. */
function atomicWriteCommitted(): void {
  const key = atomicWrite();
  Atomics.store(committed!, data.index, 0);
  parentPort!.postMessage({ key });
  Atomics.wait(committed!, data.index, 0);
}

/** A small append + fsync on a file this writer keeps open: about what one WAL commit costs. */
const bareFd = data.mode === 'bare' ? openSync(join(data.dir, `bare-${data.index}.log`), 'a') : -1;
function bareWrite(): void {
  writeAll(bareFd, payload);
  fsyncSync(bareFd);
}

const op = data.mode === 'bare' ? bareWrite : committed ? atomicWriteCommitted : atomicWrite;
for (let i = 0; i < 3; i++) atomicOrBare(); // warm-up, not counted, not committed

function atomicOrBare(): void {
  if (data.mode === 'bare') bareWrite();
  else atomicWrite();
}

parentPort!.once('message', () => {
  const latencies: number[] = [];
  const startedAt = now();
  const deadline = startedAt + data.seconds * 1000;
  while (now() < deadline && Atomics.add(claimed, 0, 1) < data.maxOps) {
    const t0 = performance.now();
    op();
    latencies.push(performance.now() - t0);
  }
  const endedAt = now();
  if (bareFd >= 0) closeSync(bareFd);
  const result: WriterResult = { latenciesMs: Float64Array.from(latencies), startedAt, endedAt };
  parentPort!.postMessage(result);
});
parentPort!.postMessage('ready');
