// The embedded store's checkpoints, on a thread of their own (started by checkpointer.ts), so
// that copying the WAL into the database and fsyncing it never runs inside a COMMIT on the
// event loop. Plain JavaScript, as code-hash-process.js: a .ts module makes the thread load
// Node's type stripper, about 9 MB more RSS. The settings come from checkpointer.ts, whose
// comments say what each is for.
import { performance } from 'node:perf_hooks';
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

const { path, commits, intervalMs, quietMs, idleMs, boundFrames, restartTimeoutMs } = workerData;
const counter = new Int32Array(commits);

// No busy wait by default: a PASSIVE checkpoint never waits, and a TRUNCATE that would have to
// wait for a writer is tried again at the next look instead of holding the writer back.
const db = new DatabaseSync(path, { timeout: 0 });
// A checkpoint syncs the WAL before copying it and the database after, in this mode.
db.exec('PRAGMA synchronous = FULL');
const statements = {
  PASSIVE: db.prepare('PRAGMA wal_checkpoint(PASSIVE)'),
  RESTART: db.prepare('PRAGMA wal_checkpoint(RESTART)'),
  TRUNCATE: db.prepare('PRAGMA wal_checkpoint(TRUNCATE)'),
};

let seen = -1;
let lastCommit = Date.now();
/** The WAL is empty (truncated) and nothing was committed since. */
let clean = false;

function checkpoint(mode) {
  const started = performance.now();
  const r = statements[mode].get();
  const result = {
    mode,
    busy: Number(r.busy),
    log: Number(r.log),
    checkpointed: Number(r.checkpointed),
    ms: performance.now() - started,
  };
  parentPort.postMessage({ op: 'checkpoint', ...result });
  return result;
}

function look() {
  const now = Date.now();
  const commitsNow = Atomics.load(counter, 0);
  if (commitsNow !== seen) {
    seen = commitsNow;
    lastCommit = now;
    clean = false;
    const { log } = checkpoint('PASSIVE');
    if (log > boundFrames) startOver();
  } else if (!clean && now - lastCommit >= quietMs) {
    clean = checkpoint('TRUNCATE').busy === 0;
  } else if (clean && now - lastCommit >= idleMs) {
    stop();
  }
}

/**
 * With writers never stopping, each commit lands while a checkpoint runs: the WAL is never wholly
 * copied, so never started over, and grows. Past the bound, a RESTART checkpoint right after a
 * commit (woken by it: the writer's lock is free then) copies the rest and starts the WAL over,
 * holding the next writer back meanwhile; tried after each commit for up to restartTimeoutMs.
 */
function startOver() {
  const deadline = Date.now() + restartTimeoutMs;
  db.exec('PRAGMA busy_timeout = 5');
  try {
    for (let left = restartTimeoutMs; left > 0; left = deadline - Date.now()) {
      Atomics.wait(counter, 0, Atomics.load(counter, 0), left);
      if (checkpoint('RESTART').busy === 0) return;
    }
  } finally {
    db.exec('PRAGMA busy_timeout = 0');
  }
}

function stop() {
  clearInterval(timer);
  db.close();
  process.exit(0);
}

function lookSafely() {
  try {
    look();
  } catch (err) {
    // A failed checkpoint leaves the WAL as it was (its frames stay, durable): tried again later.
    parentPort.postMessage({ op: 'error', message: err.message, code: err.code });
  }
}

const timer = setInterval(lookSafely, intervalMs);
parentPort.on('message', (msg) => {
  if (msg.op === 'close') stop();
});
lookSafely();
