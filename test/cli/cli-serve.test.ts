import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.ts';
import { soxWav } from '../helpers/sox.ts';

const run = promisify(execFile);
let dir: string;
let cfg: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-serve-'));
  cfg = ['--config', join(dir, 'voicegate.yaml')];
  expect((await runCli(['init', '--dir', dir])).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `voicegate serve` and resolves with its URL once it logs that it is serving. */
function serve(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ child: ChildProcess; url: string; logs: () => string }> {
  // Every port free (0): tests run side by side with each other and with other servers.
  const ports = [
    '--set',
    'imap.port=0',
    '--set',
    'imap.tlsPort=0',
    '--set',
    'smtp.port=0',
    '--set',
    'sip.port=0',
  ];
  const child = spawn(process.execPath, [BIN, ...cfg, 'serve', ...ports, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let logs = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs}`)), 15_000);
    child.stderr!.on('data', (d: Buffer) => {
      logs += d.toString();
      const line = logs.split('\n').find((l) => l.includes('"voicegate serving"'));
      if (line) {
        clearTimeout(timer);
        resolve({ child, url: (JSON.parse(line) as { url: string }).url, logs: () => logs });
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${logs}`)));
  });
}

async function curl(url: string): Promise<{ status: number; body: string }> {
  const { stdout } = await run('curl', [
    '-sk',
    '--cacert',
    join(dir, 'tls/cert.pem'),
    '-w',
    '\n%{http_code}',
    url,
  ]);
  const lines = stdout.split('\n');
  return { status: Number(lines.pop()), body: lines.join('\n') };
}

describe('voicegate serve', () => {
  it('serves health, readiness and version over HTTPS and stops cleanly on SIGTERM', async () => {
    const server = await serve(['--set', 'http.port=0']);
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    // Verified against the certificate init made (no -k): TLS by default.
    const { stdout } = await run('curl', [
      '-s',
      '--cacert',
      join(dir, 'tls/cert.pem'),
      `${server.url}/healthz`,
    ]);
    expect(JSON.parse(stdout)).toEqual({ status: 'ok' });
    expect(await curl(`${server.url}/readyz`)).toEqual({ status: 200, body: '{"status":"ready"}' });
    // The server runs with the memory settings bin/voicegate.js starts it over with (same pid).
    const cmdline = readFileSync(`/proc/${server.child.pid}/cmdline`, 'latin1').split('\0');
    expect(cmdline).toEqual(
      expect.arrayContaining(['--max-semi-space-size=2', '--optimize-for-size']),
    );
    const environ = readFileSync(`/proc/${server.child.pid}/environ`, 'latin1').split('\0');
    expect(environ).toContain('MALLOC_ARENA_MAX=2');
    // jemalloc (scripts/install-test-tools.sh installs it) is loaded in place of glibc's malloc.
    expect(readFileSync(`/proc/${server.child.pid}/maps`, 'latin1')).toMatch(/libjemalloc\.so/);
    const version = await curl(`${server.url}/api/version`);
    expect(JSON.parse(version.body)).toMatchObject({ name: 'voicegate', version: '0.1.0' });
    expect((await curl(`${server.url}/nothing-here`)).status).toBe(404);
    // The CLI works on the same store while the server runs.
    expect((await runCli([...cfg, 'mailbox', 'add', 'alice'], { input: '1234\n' })).code).toBe(0);
    const exited = new Promise<number | null>((resolve) =>
      server.child.on('exit', (code) => resolve(code)),
    );
    server.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(server.logs()).toContain('"shutting down"');
    expect(server.logs()).not.toMatch(/BEGIN .*PRIVATE KEY|scrypt\$/);
  });

  it("runs on glibc's malloc when asked, serving all the same", async () => {
    const server = await serve(['--set', 'http.port=0'], {
      ...process.env,
      VOICEGATE_ALLOCATOR: 'glibc',
    });
    expect(readFileSync(`/proc/${server.child.pid}/maps`, 'latin1')).not.toMatch(/jemalloc/);
    expect(await curl(`${server.url}/readyz`)).toEqual({ status: 200, body: '{"status":"ready"}' });
    const exited = new Promise<number | null>((resolve) =>
      server.child.on('exit', (code) => resolve(code)),
    );
    server.child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('runs housekeeping when it starts', async () => {
    expect((await runCli([...cfg, 'mailbox', 'add', 'bob'], { input: '1234\n' })).code).toBe(0);
    const wav = soxWav(join(dir, 'hk.wav'), 2);
    expect((await runCli([...cfg, 'deposit', 'bob', wav])).code).toBe(0);
    const inbox = async (): Promise<unknown[]> =>
      JSON.parse((await runCli([...cfg, 'messages', 'bob', '--json'])).stdout) as unknown[];
    expect(await inbox()).toHaveLength(1);
    // New messages expire after 0.36 s with this rule; the server applies it on its own.
    await new Promise((r) => setTimeout(r, 500));
    const server = await serve([
      '--set',
      'http.port=0',
      '--set',
      'housekeeping.deleteAfterHours.new=0.0001',
    ]);
    const deadline = Date.now() + 5000;
    while ((await inbox()).length > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(await inbox()).toHaveLength(0);
    expect(server.logs()).toContain('"housekeeping"');
    server.child.kill('SIGTERM');
  });

  it("shows the status the admin area shows: store, queue, and the running server's listeners", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    const status = async () => {
      const r = await runCli([...cfg, '--set', `http.port=${port}`, 'status', '--json']);
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout) as {
        server: string;
        store: { ok: boolean };
        queue: { pending: number; failed: number };
        listeners: { name: string; active: number }[];
        calls: { active: number } | null;
      };
    };
    const stopped = await status();
    expect(stopped.server).toMatch(new RegExp(`no running server answers on port ${port}`));
    expect(stopped.store.ok).toBe(true);
    expect(stopped.listeners).toEqual([]);

    const server = await serve(['--set', `http.port=${port}`]);
    const up = await status();
    expect(up.server).toBe('running');
    expect(up.queue).toEqual({ pending: 0, failed: 0 });
    // The status command's own request is one of the web connections it counts.
    expect(up.listeners.map((l) => l.name)).toEqual(
      expect.arrayContaining(['http', 'imap', 'sip']),
    );
    expect(up.calls).toEqual({ active: 0, total: 0 });
    const text = await runCli([...cfg, '--set', `http.port=${port}`, 'status']);
    expect(text.stdout).toContain('server: running');
    expect(text.stdout).toMatch(/LISTENER\s+CONNECTIONS\s+REFUSED/);
    server.child.kill('SIGTERM');
  });

  it('serves plain HTTP when http.tls is false', async () => {
    const server = await serve(['--set', 'http.port=0', '--set', 'http.tls=false']);
    expect(server.url).toMatch(/^http:\/\//);
    const { stdout } = await run('curl', ['-s', `${server.url}/healthz`]);
    expect(JSON.parse(stdout)).toEqual({ status: 'ok' });
    server.child.kill('SIGTERM');
  });

  it('names the key to change when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const r = await runCli([
      ...cfg,
      'serve',
      '--set',
      `http.port=${port}`,
      '--set',
      'sip.port=0',
      '--set',
      'log.level=silent',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `voicegate: 127.0.0.1:${port} is in use: set http.port (or http.host) to a free one`,
    );
    // The same for IMAP, naming the IMAP key.
    const imap = await runCli([
      ...cfg,
      'serve',
      '--set',
      'http.port=0',
      '--set',
      'smtp.port=0',
      '--set',
      `imap.port=0`,
      '--set',
      `imap.tlsPort=${port}`,
      '--set',
      'sip.port=0',
      '--set',
      'log.level=silent',
    ]);
    blocker.close();
    expect(imap.code).toBe(1);
    expect(imap.stderr.trim()).toBe(
      `voicegate: 127.0.0.1:${port} is in use: set imap.tlsPort (or imap.host) to a free one`,
    );
  });
});
