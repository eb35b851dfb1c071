/**
 * A client that abandons its TLS handshake (a port scan, a client that distrusts the
 * certificate) is the client's doing: no listener logs it at error level.
 */
import { connect as netConnect } from 'node:net';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLoggedServer, type LoggedServer } from '../helpers/lockout-kit.ts';
import { until } from '../imap/imapflow-kit.ts';

let server: LoggedServer;
beforeAll(async () => {
  server = await startLoggedServer([], 'debug');
});
afterAll(async () => server?.stop());

/** Starts a TLS handshake on `port` and drops the connection once the ClientHello is out. */
function abandonHandshake(port: number): Promise<void> {
  return new Promise((resolve) => {
    const tcp = netConnect({ host: '127.0.0.1', port });
    tcp.once('connect', () => {
      const tls = connect({ socket: tcp, rejectUnauthorized: false });
      tls.on('error', () => {});
      setTimeout(() => {
        tcp.destroy();
        resolve();
      }, 20);
    });
    tcp.on('error', () => resolve());
  });
}

/** SMTP: EHLO, STARTTLS, then the handshake abandoned as above. */
function abandonStarttls(port: number): Promise<void> {
  return new Promise((resolve) => {
    const tcp = netConnect({ host: '127.0.0.1', port });
    let text = '';
    tcp.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (/^220 .*\r\n$/m.test(text) && !text.includes('EHLO-SENT')) {
        text += 'EHLO-SENT';
        tcp.write('EHLO client.example\r\nSTARTTLS\r\n');
      } else if (/^220 .*TLS.*\r\n/im.test(text.split('EHLO-SENT')[1] ?? '')) {
        tcp.removeAllListeners('data');
        const tls = connect({ socket: tcp, rejectUnauthorized: false });
        tls.on('error', () => {});
        setTimeout(() => {
          tcp.destroy();
          resolve();
        }, 20);
      }
    });
    tcp.on('error', () => resolve());
    setTimeout(() => {
      tcp.destroy();
      resolve();
    }, 2000);
  });
}

/** Sends bytes that are no ClientHello, then leaves. */
function garbage(port: number): Promise<void> {
  return new Promise((resolve) => {
    const tcp = netConnect({ host: '127.0.0.1', port }, () => {
      tcp.end('GET / HTTP/1.0\r\n\r\n');
    });
    tcp.on('error', () => resolve());
    tcp.on('close', () => resolve());
    setTimeout(() => {
      tcp.destroy();
      resolve();
    }, 500);
  });
}

const errors = () =>
  (server.logs as { level?: number; msg: string }[]).filter((l) => (l.level ?? 0) >= 50);

describe('abandoned TLS handshakes', () => {
  it.each([
    ['IMAPS', () => server.ports.imaps],
    ['HTTPS', () => server.ports.http],
  ])('on %s are no error', async (_name, port) => {
    const before = server.logs.length;
    for (let i = 0; i < 3; i++) await abandonHandshake(port());
    await garbage(port());
    // The server notices the closed sockets; give its handlers the chance to log.
    await until(() => server.logs.length > before, 500).catch(() => {});
    await new Promise((r) => setTimeout(r, 200));
    expect(errors()).toEqual([]);
  });

  it('after SMTP STARTTLS are no error', async () => {
    for (let i = 0; i < 3; i++) await abandonStarttls(server.ports.smtp);
    await new Promise((r) => setTimeout(r, 300));
    expect(errors()).toEqual([]);
  });
});
