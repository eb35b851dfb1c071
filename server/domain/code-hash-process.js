// The code-hashing process (code-hash-pool.ts, which holds the message types). Plain
// JavaScript, started with no flags: a .ts module would make it load Node's type stripper.
// It derives keys with crypto.scrypt on libuv's pool, as many at once as the pool has threads
// (UV_THREADPOOL_SIZE, set by the parent), and runs on glibc's malloc with its own settings
// (the parent's allocator settings are not passed on): the 16 MiB scrypt block stays in the
// process's heap from one check to the next instead of being faulted in afresh each time.
import { scrypt } from 'node:crypto';
import { setPriority } from 'node:os';

const nice = process.argv[2] === 'null' ? null : Number(process.argv[2]);

/**
 * Lowers this process's main thread (Linux: a thread's nice value is its own), before libuv's
 * threads exist: they inherit it when the first derivation starts them.
 */
function lowerPriority() {
  if (nice === null) return null;
  try {
    setPriority(nice);
    return nice;
  } catch {
    return null;
  }
}

/** To the server; once it has gone (the channel closed), nothing: the process is exiting. */
function reply(message) {
  if (process.connected) process.send(message, () => {});
}

reply({ op: 'ready', pid: process.pid, nice: lowerPriority() });

process.on('message', (job) => {
  scrypt(
    job.code,
    Buffer.from(job.salt, 'base64'),
    job.keyLength,
    { N: job.N, r: job.r, p: job.p, maxmem: 256 * job.N * job.r + 1024 * 1024 },
    (err, key) => {
      if (err) reply({ op: 'failed', id: job.id, message: err.message });
      else reply({ op: 'key', id: job.id, key: key.toString('base64') });
    },
  );
});

// The server went away (or closed the pool): nothing left to do.
process.on('disconnect', () => process.exit(0));
