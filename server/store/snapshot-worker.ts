// Runs takeSnapshot off the main thread: VACUUM INTO and linking thousands of files are
// synchronous, and a server taking a scheduled backup must keep answering calls meanwhile.
import { parentPort, workerData } from 'node:worker_threads';
import { takeSnapshot } from './snapshot.ts';

const { dataDir } = workerData as { dataDir: string };
try {
  parentPort!.postMessage({ ok: true, snapshot: takeSnapshot(dataDir) });
} catch (err) {
  const e = err as { code?: string; message?: string };
  parentPort!.postMessage({ ok: false, code: e.code, message: e.message ?? String(err) });
}
