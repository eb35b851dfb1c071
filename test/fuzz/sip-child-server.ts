// `voicegate serve` in a process of its own, so that a crash is seen as an exit (and does not
// end the test runner), with a probe that reports its memory after a GC on request.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BIN, runCli } from '../helpers/cli.ts';

const PROBE = pathToFileURL(fileURLToPath(new URL('./sip-memory-probe.ts', import.meta.url))).href;

export interface ChildServer {
  child: ChildProcess;
  sip: number;
  /** Set once the process has exited: how. */
  exit: string | null;
  /** The last lines it logged (for failure messages). */
  tail(): string;
  /** Lines logged at error level (50) or above so far. */
  errors: string[];
  /** heapUsed and rss after a full GC. */
  memory(): Promise<{ heapUsed: number; rss: number }>;
  stop(): Promise<void>;
}

export async function startChildServer(sets: string[] = []): Promise<ChildServer> {
  const dir = mkdtempSync(join(tmpdir(), 'voicegate-fuzz-'));
  const init = await runCli(['init', '--dir', dir]);
  if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
  const args = [
    'http.port=0',
    'imap.port=0',
    'imap.tlsPort=0',
    'smtp.port=0',
    'sip.port=0',
    'sip.rtpPortMin=0',
    'sip.rtpPortMax=0',
    ...sets,
  ].flatMap((s) => ['--set', s]);
  const child = spawn(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      PROBE,
      BIN,
      '--config',
      join(dir, 'voicegate.yaml'),
      'serve',
      ...args,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const lines: string[] = [];
  const errors: string[] = [];
  const probes: ((m: { heapUsed: number; rss: number }) => void)[] = [];
  let partial = '';
  let onServing: ((sip: number) => void) | null = null;
  child.stderr!.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      if (line.includes('"memoryProbe"')) {
        const m = (JSON.parse(line) as { memoryProbe: { heapUsed: number; rss: number } })
          .memoryProbe;
        probes.shift()?.(m);
        continue;
      }
      lines.push(line);
      if (lines.length > 200) lines.shift();
      if (/"level":(50|60)/.test(line) && errors.length < 100) errors.push(line);
      if (onServing && line.includes('"voicegate serving"'))
        onServing((JSON.parse(line) as { ports: { sip: number } }).ports.sip);
    }
  });
  const server: ChildServer = {
    child,
    sip: 0,
    exit: null,
    tail: () => lines.slice(-30).join('\n'),
    errors,
    memory: () =>
      new Promise((resolve, reject) => {
        if (server.exit) return reject(new Error(`server exited: ${server.exit}`));
        probes.push(resolve);
        child.kill('SIGUSR2');
      }),
    stop: async () => {
      if (!server.exit) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  child.on('exit', (code, signal) => (server.exit = `code ${code}, signal ${signal}`));
  server.sip = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not start:\n${server.tail()}`)),
      30_000,
    );
    onServing = (sip) => {
      clearTimeout(timer);
      resolve(sip);
    };
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`server exited at start:\n${server.tail()}`));
    });
  });
  return server;
}
