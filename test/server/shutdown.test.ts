/**
 * SIGTERM ends `voicegate serve` within 5 s whatever its clients do: each part closes its own
 * sessions and timers, so the process ends without the last-resort exit (whose warning would
 * show in the log).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.ts';
import { runSipp } from '../helpers/sipp.ts';

const CALLER = fileURLToPath(new URL('./scenarios/shutdown-caller.xml', import.meta.url));
const LIMIT_MS = 5000;

interface Ports {
  http: number;
  imaps: number;
  smtp: number;
  sip: number;
}

interface Served {
  child: ChildProcess;
  ports: Ports;
  logs(): string;
  /** Resolves once a log line matches. */
  logged(re: RegExp, ms?: number): Promise<string>;
  exited: Promise<number | null>;
}

function serve(cfg: string[]): Promise<Served> {
  const sets = [
    'http.port=0',
    'imap.port=0',
    'imap.tlsPort=0',
    'smtp.port=0',
    'sip.port=0',
    'sip.rtpPortMin=0',
    'sip.rtpPortMax=0',
    'server.domain=voicegate.test',
    'log.level=debug',
  ].flatMap((s) => ['--set', s]);
  const child = spawn(process.execPath, [BIN, ...cfg, 'serve', ...sets], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let logs = '';
  const waiters = new Set<() => void>();
  child.stderr!.on('data', (d: Buffer) => {
    logs += d.toString();
    for (const wake of waiters) wake();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const logged = (re: RegExp, ms = 20_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const line = logs.split('\n').find((l) => re.test(l));
        if (!line) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(line);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no log line ${re} in ${ms} ms:\n${logs}`));
      }, ms);
      waiters.add(check);
      void exited.then(() => {
        waiters.delete(check);
        clearTimeout(timer);
        reject(new Error(`server exited before logging ${re}:\n${logs}`));
      });
      check();
    });
  // Start-up on a loaded 2-core machine can take a while (the suite runs files side by side).
  return logged(/"voicegate serving"/, 60_000).then((line) => ({
    child,
    ports: (JSON.parse(line) as { ports: Ports }).ports,
    logs: () => logs,
    logged,
    exited,
  }));
}

/** SIGTERM, then the time until the process has exited; it must exit cleanly, on its own. */
async function stop(server: Served): Promise<number> {
  const start = performance.now();
  server.child.kill('SIGTERM');
  const code = await Promise.race([
    server.exited,
    new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000).unref()),
  ]);
  const ms = Math.round(performance.now() - start);
  if (code === 'hung') server.child.kill('SIGKILL');
  console.info(`SIGTERM to exit: ${ms} ms`);
  expect(code, server.logs()).toBe(0);
  expect(server.logs()).not.toMatch(/"level":40,.*(in time|still holds)/);
  expect(ms).toBeLessThan(LIMIT_MS);
  return ms;
}

/** Reads a socket's text until `re` matches what came so far. */
function readUntil(socket: Socket, re: RegExp, ms = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (err?: Error): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (d: Buffer): void => {
      text += d.toString('latin1');
      if (re.test(text)) done();
    };
    const onClose = (): void => done(new Error(`closed before ${re}; got ${text}`));
    const timer = setTimeout(() => done(new Error(`no ${re} in ${ms} ms; got ${text}`)), ms);
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** Whatever else the socket receives until it closes. */
function restUntilClosed(socket: Socket): Promise<string> {
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => {});
  return new Promise((resolve) => socket.once('close', () => resolve(text)));
}

async function listed(cfg: string[]): Promise<{ audio: { durationMs: number } }[]> {
  const res = await runCli([...cfg, 'messages', '201', '--json']);
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as { audio: { durationMs: number } }[];
}

describe('SIGTERM ends voicegate serve within 5 s', { timeout: 90_000 }, () => {
  let dir: string;
  let cfg: string[];
  let server: Served | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'voicegate-shutdown-'));
    cfg = ['--config', join(dir, 'voicegate.yaml')];
    expect((await runCli(['init', '--dir', dir])).code).toBe(0);
    const add = await runCli([...cfg, 'mailbox', 'add', 'alice', '--extension', '201'], {
      input: '1234\n',
    });
    expect(add.code, add.stderr).toBe(0);
  });
  afterAll(async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('with an IMAP client that dropped its connection while idling', async () => {
    server = await serve(cfg);
    const socket = tlsConnect({
      port: server.ports.imaps,
      host: '127.0.0.1',
      rejectUnauthorized: false,
    });
    await readUntil(socket, /^\* OK/m);
    socket.write('a LOGIN 201 1234\r\n');
    await readUntil(socket, /^a OK/m);
    socket.write('b SELECT INBOX\r\n');
    await readUntil(socket, /^b OK/m);
    socket.write('c IDLE\r\n');
    await readUntil(socket, /^\+ /m);
    const gone = new Promise((r) => socket.once('close', r));
    socket.destroy();
    await gone;
    await stop(server);
  });

  it('with a web page holding its event stream open', async () => {
    server = await serve(cfg);
    const port = server.ports.http;
    const call = (
      path: string,
      opts: { method?: string; headers?: Record<string, string>; body?: string },
    ) =>
      new Promise<IncomingMessage>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port, path, rejectUnauthorized: false, ...opts },
          resolve,
        );
        req.on('error', reject);
        req.end(opts.body);
      });
    const login = await call('/api/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mailbox: 'alice', code: '1234' }),
    });
    login.resume();
    expect(login.statusCode).toBe(200);
    const cookie = String(login.headers['set-cookie']![0]!.split(';')[0]);
    const events = await call('/api/events', { headers: { cookie } });
    expect(events.headers['content-type']).toMatch(/^text\/event-stream/);
    const ended = new Promise((r) => events.socket.once('close', r));
    await new Promise<void>((resolve) =>
      events.on('data', (d: Buffer) => d.toString().includes('retry:') && resolve()),
    );
    await stop(server);
    await ended;
  });

  it('with an SMTP client in the middle of DATA: 421, nothing stored', async () => {
    server = await serve(cfg);
    const socket = netConnect({ port: server.ports.smtp, host: '127.0.0.1' });
    await readUntil(socket, /^220 /m);
    socket.write('EHLO client.example\r\n');
    await readUntil(socket, /^250 /m);
    socket.write('MAIL FROM:<pbx@example.com>\r\n');
    await readUntil(socket, /^250 /m);
    socket.write('RCPT TO:<201@voicegate.test>\r\n');
    await readUntil(socket, /^250 /m);
    socket.write('DATA\r\n');
    await readUntil(socket, /^354 /m);
    socket.write('From: pbx@example.com\r\nSubject: half a message\r\n\r\nthe first line\r\n');
    const rest = restUntilClosed(socket);
    await stop(server);
    const said = await rest;
    expect(said).toMatch(/^421 /m);
    expect(await listed(cfg)).toEqual([]);
  });

  it('with a call being recorded: the caller gets a BYE, the message so far is kept', async () => {
    server = await serve(cfg);
    const call = runSipp(CALLER, `127.0.0.1:${server.ports.sip}`, {
      service: '201',
      timeoutSeconds: 30,
    });
    await server.logged(/"leave message: recording"/);
    // What is recorded must outlast policy.minMessageSeconds (1 s): the caller's speech starts
    // about 2 s after the tone (only audio received counts), so it speaks 3 s before the end.
    await new Promise((r) => setTimeout(r, 5000));
    await stop(server);
    const run = await call;
    expect(run.code, run.log).toBe(0); // it got the BYE and answered it
    const [message, ...more] = await listed(cfg);
    expect(message, server.logs()).toBeDefined();
    expect(more).toEqual([]);
    expect(message!.audio.durationMs).toBeGreaterThan(1000);
  });
});
