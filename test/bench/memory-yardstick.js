/**
 * The yardstick for an IMAP server's memory per idle connection: a bare Node server, nothing but
 * `net.createServer` (argument `plain`) or `tls.createServer` (`tls CERT KEY`, TLS 1.2 or later
 * as Voicegate's), that greets each connection with one line, answers each command line with
 * `TAG OK` (IDLE with a continuation), so that a session's exchange is as many round trips as
 * a real one's (OpenSSL keeps the buffers a connection has used), then holds it idle. Run by
 * imap-memory.ts as its own process with the server's node flags and memory-probe.js; it prints
 * `{"port": N}` once it listens on 127.0.0.1. Plain JavaScript, as memory-probe.js is: no type
 * stripper in the process measured.
 */
import { readFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

const [mode, certFile, keyFile] = process.argv.slice(2);
/** @param {import('node:net').Socket} socket */
const greet = (socket) => {
  socket.on('error', () => socket.destroy());
  socket.setEncoding('latin1');
  socket.on('data', (text) => {
    for (const line of text.split('\r\n')) {
      const [tag, command] = line.split(' ');
      if (!tag || !command) continue;
      socket.write(command.toUpperCase() === 'IDLE' ? '+ idling\r\n' : `${tag} OK done\r\n`);
    }
  });
  socket.write('* OK yardstick ready\r\n');
};
/** @type {import('node:net').Server} */
let server;
if (mode === 'tls' && certFile && keyFile) {
  server = createTlsServer(
    { cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.2' },
    greet,
  );
  server.on('tlsClientError', () => {});
} else if (mode === 'plain') {
  server = createNetServer(greet);
} else {
  process.stderr.write('usage: memory-yardstick.js plain | tls CERT KEY\n');
  process.exit(2);
}
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(
    `${JSON.stringify({ port: /** @type {import('node:net').AddressInfo} */ (server.address()).port })}\n`,
  );
});
process.on('SIGTERM', () => process.exit(0));
