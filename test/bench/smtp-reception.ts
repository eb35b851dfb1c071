/**
 * The yardstick of the smtp benchmark's inbound side: SMTP reception alone. smtp-server (the
 * package Voicegate's listener is built on, with the same patch, the same options where they
 * touch reception, and started with the same node flags and environment as `voicegate serve`)
 * in a process of its own, that takes every mail's DATA to its end and drops it: no MIME, no
 * audio, no deposit. What a mail costs here is what receiving it over SMTP costs any Node server
 * on this machine; Voicegate does that and a deposit.
 *
 * node smtp-reception.ts PORT CERT_FILE KEY_FILE: STARTTLS with that certificate, as Voicegate's.
 */
import { readFileSync } from 'node:fs';
import { SMTPServer } from 'smtp-server';

const [port, certFile, keyFile] = process.argv.slice(2);
/** smtp.maxMessageMB's default: what SIZE announces. */
const MAX_MESSAGE_BYTES = 25 * 1024 * 1024;

const server = new SMTPServer({
  name: 'reception.bench.example',
  banner: 'reception alone',
  key: readFileSync(keyFile!),
  cert: readFileSync(certFile!),
  minVersion: 'TLSv1.2',
  size: MAX_MESSAGE_BYTES,
  disabledCommands: ['AUTH'],
  authOptional: true,
  disableReverseLookup: true,
  maxRecipients: 100,
  logger: false,
  onData(stream, _session, cb) {
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    stream.once('end', () => cb(null, `${bytes} bytes received and dropped`));
  },
});
server.on('error', (err) => console.error(`reception: ${err.message}`));
server.listen(Number(port), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
