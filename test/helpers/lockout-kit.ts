/**
 * For the lockout tests: a real server whose log is kept (each code checked against a real hash
 * logs "login failed: wrong code", so a test can count how many were checked), and one-shot
 * HTTPS and IMAPS log-ins on fresh sockets from a chosen loopback address.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect } from 'node:tls';
import { loadConfig } from '../../server/config/load.ts';
import { createLogger } from '../../server/log.ts';
import { startServer, type RunningServer } from '../../server/server.ts';

export interface LoggedServer extends RunningServer {
  /** Every log entry so far, parsed. */
  logs: { msg: string; mailbox?: string; channel?: string }[];
  /** How many entries have this message (and mailbox, if given). */
  count(msg: string, mailbox?: string): number;
  stop(): Promise<void>;
}

export async function startLoggedServer(
  sets: string[] = [],
  level = 'warn',
): Promise<LoggedServer> {
  const dir = mkdtempSync(join(tmpdir(), 'voicegate-lockout-'));
  const configFile = join(dir, 'voicegate.yaml');
  writeFileSync(configFile, 'server:\n  dataDir: .\n');
  const loaded = loadConfig(configFile, [
    'http.port=0',
    'imap.port=0',
    'imap.tlsPort=0',
    'sip.port=0',
    'sip.rtpPortMin=0',
    'sip.rtpPortMax=0',
    'smtp.port=0',
    ...sets,
  ]);
  const logs: LoggedServer['logs'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        logs.push(JSON.parse(line) as LoggedServer['logs'][number]);
      done();
    },
  });
  const server = await startServer(loaded, createLogger(level, sink));
  return Object.assign(server, {
    logs,
    count: (msg: string, mailbox?: string) =>
      logs.filter((l) => l.msg === msg && (mailbox === undefined || l.mailbox === mailbox)).length,
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

/** POST /api/login over a new HTTPS connection; the status, the parsed body and any cookie set. */
export function webLogin(
  port: number,
  mailbox: string,
  code: string,
  localAddress = '127.0.0.1',
  forwardedFor?: string,
): Promise<{ status: number; body: unknown; cookies: string[] }> {
  const payload = JSON.stringify({ mailbox, code });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        localAddress,
        path: '/api/login',
        method: 'POST',
        agent: false,
        rejectUnauthorized: false,
        headers: {
          'content-type': 'application/json',
          'content-length': payload.length,
          ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            cookies: res.headers['set-cookie'] ?? [],
            body: JSON.parse(Buffer.concat(chunks).toString()) as unknown,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** LOGIN over a new IMAPS connection; the tagged reply line after the tag. */
export function imapLogin(
  port: number,
  user: string,
  code: string,
  localAddress = '127.0.0.1',
): Promise<string> {
  return new Promise((resolve, reject) => {
    const tcp = netConnect({ host: '127.0.0.1', port, localAddress });
    tcp.on('error', reject);
    const socket = connect({ socket: tcp, rejectUnauthorized: false });
    let text = '';
    let greeted = false;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (!greeted && text.includes('\r\n')) {
        greeted = true;
        text = '';
        socket.write(`a LOGIN "${user}" "${code}"\r\n`);
      }
      const tagged = /^a (.*)\r\n/m.exec(text);
      if (tagged) {
        resolve(tagged[1]!);
        socket.end();
      }
    });
    socket.on('error', reject);
  });
}
