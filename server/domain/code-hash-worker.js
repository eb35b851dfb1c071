// One code-hashing thread of the pool (code-hash-pool.ts, which holds the message types).
// Plain JavaScript: a .ts module would make every thread load Node's type stripper, about
// 9 MB more per thread. scryptSync, not scrypt: the async form would run on libuv's shared
// pool, beside file reads and at the event loop's priority; here it runs on this thread, which
// first lowers its own CPU priority.
import { scryptSync } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';

const { nice } = workerData;
const port = parentPort;

/** Lowers this thread alone (Linux: a thread's nice value is its own); nulls where it cannot. */
function lowerPriority() {
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

port.postMessage({ op: 'ready', ...lowerPriority() });

port.on('message', (job) => {
  try {
    const key = scryptSync(job.code, job.salt, job.keyLength, {
      N: job.N,
      r: job.r,
      p: job.p,
      maxmem: 256 * job.N * job.r + 1024 * 1024,
    });
    port.postMessage({ op: 'key', id: job.id, key });
  } catch (err) {
    port.postMessage({ op: 'failed', id: job.id, message: err.message });
  }
});
