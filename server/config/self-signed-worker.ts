// Makes a self-signed certificate off the main thread (tls-cert.ts): the libraries it needs stay
// in this thread, which ends once the certificate is made.
import { generate } from 'selfsigned';
import { parentPort, workerData } from 'node:worker_threads';

const { hostname } = workerData as { hostname: string };
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
parentPort!.postMessage({ cert: pems.cert, private: pems.private });
