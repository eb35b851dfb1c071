import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

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
  // Loaded only here: a certificate is made once, and the library is large to keep in memory.
  const { generate } = await import('selfsigned');
  const now = new Date();
  const pems = await generate([{ name: 'commonName', value: hostname }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate: new Date(now.getTime() + 825 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: hostname },
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
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
