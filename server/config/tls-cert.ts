import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';

const WORKER = new URL('./self-signed-worker.ts', import.meta.url);

/**
 * Writes a self-signed certificate for `hostname` (plus localhost and the loopback addresses) when
 * no certificate is there yet, so IMAPS, STARTTLS and HTTPS work from the first start. Returns
 * whether one was created.
 */
export async function ensureSelfSignedCert(
  certPath: string,
  keyPath: string,
  hostname: string,
): Promise<boolean> {
  if (existsSync(certPath) && existsSync(keyPath)) {
    privateKey(keyPath);
    return false;
  }
  const pems = await inThread(hostname);
  // The key's folder first, so that when both share one (tls/) it is made private.
  if (mkdirSync(dirname(keyPath), { recursive: true, mode: 0o700 }))
    chmodSync(dirname(keyPath), 0o700);
  mkdirSync(dirname(certPath), { recursive: true });
  writeFileSync(keyPath, pems.private, { mode: 0o600 });
  chmodSync(keyPath, 0o600);
  writeFileSync(certPath, pems.cert, { mode: 0o644 });
  return true;
}

/**
 * Only the server's user may read the key. A key of another owner (a shared one, readable by a
 * group on purpose) is left alone.
 */
function privateKey(keyPath: string): void {
  const stat = statSync(keyPath);
  if (stat.uid === process.getuid?.() && (stat.mode & 0o077) !== 0) chmodSync(keyPath, 0o600);
}

/**
 * Makes the certificate on a thread of its own, which ends with it: the certificate library and
 * the X.509 and ASN.1 libraries under it (about 14 MiB of RSS in a server at rest, measured) are
 * loaded there, and a server's first start does not keep them for its life.
 */
async function inThread(hostname: string): Promise<{ cert: string; private: string }> {
  const worker = new Worker(WORKER, { workerData: { hostname }, name: 'voicegate-certificate' });
  try {
    return await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the certificate thread exited (${code})`)));
    });
  } finally {
    await worker.terminate();
  }
}
