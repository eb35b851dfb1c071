/**
 * The loopback SMTP sink of the smtp benchmark, a process of its own (spawned by
 * smtp-servers.ts) so that its CPU is neither the benchmark's nor Voicegate's. It accepts every
 * mail from anyone and keeps nothing but the first one, written to a file so that the yardstick
 * can send the very same bytes. It prints one JSON line (a SinkRecord) per mail once the data
 * has ended, then answers 250. Times are performance.timeOrigin + performance.now(): ms since
 * the epoch, comparable across processes.
 *
 * node smtp-sink.ts PORT CAPTURE_FILE [CERT_FILE KEY_FILE]: with a certificate it offers
 * STARTTLS, without one it offers no TLS at all.
 *
 * It greets at once. smtp-server waits 100 ms before its greeting, to catch clients that talk
 * too soon; a sender that opens a connection per mail would then measure that pause (at most
 * ~9 mails/s) rather than itself. Postfix without postscreen greets at once too.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { SMTPServer } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import type { SinkRecord } from './smtp-servers.ts';

const [port, captureFile, certFile, keyFile] = process.argv.slice(2);
const now = (): number => performance.timeOrigin + performance.now();
const connectedAt = new Map<string, number>();
let captured = false;

SMTPConnection.prototype.init = function init(this: SMTPConnection): void {
  this._setListeners(() => this.connectionReady());
};

const server = new SMTPServer({
  name: 'sink.bench.example',
  logger: false,
  disableReverseLookup: true,
  authOptional: true,
  disabledCommands: certFile ? ['AUTH'] : ['AUTH', 'STARTTLS'],
  ...(certFile && keyFile ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : {}),
  onConnect(session, cb) {
    connectedAt.set(session.id, now());
    cb();
  },
  onClose(session) {
    connectedAt.delete(session.id);
  },
  onData(stream, session, cb) {
    const dataAt = now();
    const chunks: Buffer[] = [];
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (!captured) chunks.push(chunk);
    });
    stream.once('end', () => {
      if (!captured) {
        captured = true;
        writeFileSync(captureFile!, Buffer.concat(chunks));
      }
      const record: SinkRecord = {
        at: now(),
        dataAt,
        connectedAt: connectedAt.get(session.id) ?? dataAt,
        bytes,
        secure: session.secure,
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      };
      process.stdout.write(`${JSON.stringify(record)}\n`);
      cb(null, 'accepted by the sink');
    });
  },
});
server.on('error', (err) => console.error(`sink: ${err.message}`));
server.listen(Number(port), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
