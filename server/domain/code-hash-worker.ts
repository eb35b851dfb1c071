// One code-hashing thread of the pool (code-hash-pool.ts). scryptSync, not scrypt: the async form
// would run on libuv's shared thread pool, beside file reads and at the event loop's priority;
// here it runs on this thread, which first lowers its own CPU priority.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { scryptSync } from 'node:crypto';

export interface HashJob {
  id: number;
  code: string;
  salt: Uint8Array;
  N: number;
  r: number;
  p: number;
  keyLength: number;
}

export type HashReply =
  | { op: 'ready'; tid: number | null; nice: number | null }
  | { op: 'key'; id: number; key: Uint8Array }
  | { op: 'failed'; id: number; message: string };

const { nice } = workerData as { nice: number | null };
const port = parentPort!;

/** Lowers this thread alone (Linux: a thread's nice value is its own); null where it cannot. */
function lowerPriority(): { tid: number | null; nice: number | null } {
  if (nice === null) return { tid: null, nice: null };
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/')[2]);
    if (!Number.isInteger(tid) || tid <= 0) return { tid: null, nice: null };
    setPriority(tid, nice);
    return { tid, nice };
  } catch {
    return { tid: null, nice: null };
  }
}

port.postMessage({ op: 'ready', ...lowerPriority() } satisfies HashReply);

port.on('message', (job: HashJob) => {
  try {
    const key = scryptSync(job.code, job.salt, job.keyLength, {
      N: job.N,
      r: job.r,
      p: job.p,
      maxmem: 256 * job.N * job.r + 1024 * 1024,
    });
    port.postMessage({ op: 'key', id: job.id, key } satisfies HashReply);
  } catch (err) {
    port.postMessage({
      op: 'failed',
      id: job.id,
      message: (err as Error).message,
    } satisfies HashReply);
  }
});
