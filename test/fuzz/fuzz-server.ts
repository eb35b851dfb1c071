/**
 * `voicegate serve` in a child process for the fuzz tests: a crash is a dead process the test
 * sees, not a dead Vitest worker. Its memory is read after a full GC (`sip-memory-probe.ts`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadConfig } from '../../server/config/load.ts';
import { createContext } from '../../server/context.ts';
import { hashCode } from '../../server/domain/code-hash.ts';
import { createLogger } from '../../server/log.ts';
import { toneWav } from '../../server/media/tone.ts';
import { BIN } from '../helpers/cli.ts';
import { makeTempDir } from '../helpers/temp-data.ts';

/** Collects garbage and reports memory on SIGUSR2 (shared with the SIP fuzz). */
const PROBE = pathToFileURL(fileURLToPath(new URL('./sip-memory-probe.ts', import.meta.url))).href;

/** The server's JS heap limit: about four times what it uses while fuzzed (45 MB after GC). */
export const HEAP_MB = 192;
/** Resident memory the server may reach while fuzzed: the heap limit plus code, buffers, SQLite. */
export const RSS_LIMIT_MB = 640;

export interface Ports {
  http: number;
  imap: number;
  imaps: number;
  smtp: number;
}

/** `voicegate serve` in a child process on a fresh data folder, with alice (201, code 1234). */
export class FuzzServer {
  #logTail = '';
  #exit: string | null = null;
  readonly dir: string;
  readonly child: ChildProcess;
  readonly ports: Ports;
  readonly messageIds: string[];
  private constructor(dir: string, child: ChildProcess, ports: Ports, messageIds: string[]) {
    this.dir = dir;
    this.child = child;
    this.ports = ports;
    this.messageIds = messageIds;
  }

  static async start(sets: string[] = []): Promise<FuzzServer> {
    const dir = makeTempDir('voicegate-fuzz-');
    const configFile = join(dir, 'voicegate.yaml');
    writeFileSync(configFile, 'server:\n  dataDir: .\nlog:\n  level: info\n');
    // Set up in this process: a cheap code hash, so thousands of logins cost little CPU.
    const ctx = await createContext(loadConfig(configFile), createLogger('silent'));
    const alice = await ctx.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
    await ctx.store.setCodeHash(alice.id, await hashCode('1234', { N: 1024, r: 8, p: 1 }));
    const messageIds: string[] = [];
    for (const seconds of [1, 2]) {
      const [m] = await ctx.messages.deposit({
        mailbox: '201',
        audio: toneWav({ seconds }),
        callerNumber: '5551234',
      });
      messageIds.push(m!.id);
    }
    await ctx.close();

    const all = [
      'http.port=0',
      'http.tls=false',
      'imap.port=0',
      'imap.tlsPort=0',
      'imap.allowPlaintextAuth=true',
      'smtp.port=0',
      'sip.port=0',
      'sip.rtpPortMin=0',
      'sip.rtpPortMax=0',
      // Wrong codes are a large part of fuzzing: no lockout, or the health check could not log in.
      'policy.lockout.failures=0',
      'policy.lockout.perAddressFailures=10000',
      'limits.perAddress=100000',
      ...sets,
    ].flatMap((s) => ['--set', s]);
    // A small heap: a leak becomes a crash the test sees, not RSS that merely looks high (V8
    // and malloc keep freed memory, so RSS alone cannot tell garbage from a leak).
    const node = [`--max-old-space-size=${HEAP_MB}`, '--expose-gc', '--import', PROBE];
    const child = spawn(process.execPath, [...node, BIN, '--config', configFile, 'serve', ...all], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let early = '';
    const ports = await new Promise<Ports>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${early}`)), 60_000);
      const onData = (d: Buffer): void => {
        early += d.toString();
        const line = early.split('\n').find((l) => l.includes('"voicegate serving"'));
        if (line) {
          clearTimeout(timer);
          child.stderr!.off('data', onData);
          resolve((JSON.parse(line) as { ports: Ports }).ports);
        }
      };
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) =>
        reject(new Error(`server exited (${code ?? signal}) while starting:\n${early}`)),
      );
    });
    const server = new FuzzServer(dir, child, ports, messageIds);
    child.stderr!.on('data', (d: Buffer) => {
      server.#logTail = (server.#logTail + d.toString()).slice(-8000);
    });
    child.once('exit', (code, signal) => {
      server.#exit = `exited with ${code ?? signal}`;
    });
    return server;
  }

  /** Why the process is gone, or null while it runs. */
  get exit(): string | null {
    return this.#exit;
  }

  get logTail(): string {
    return this.#logTail;
  }

  /** Resident memory of the server process, in MB (Linux /proc). */
  rssMB(): number {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
  }

  /** The heap in use after a full GC, and RSS then, in MB: what stays once the garbage is gone. */
  async settledMemory(): Promise<{ heapMB: number; rssMB: number }> {
    return new Promise((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => {
        this.child.stderr!.off('data', onData);
        reject(new Error('the server did not report its memory'));
      }, 10_000);
      const onData = (d: Buffer): void => {
        text += d.toString();
        const line = text.split('\n').find((l) => l.includes('"memoryProbe"'));
        if (!line) return;
        clearTimeout(timer);
        this.child.stderr!.off('data', onData);
        const m = (JSON.parse(line) as { memoryProbe: { heapUsed: number; rss: number } })
          .memoryProbe;
        resolve({ heapMB: Math.round(m.heapUsed / 2 ** 20), rssMB: Math.round(m.rss / 2 ** 20) });
      };
      this.child.stderr!.on('data', onData);
      this.child.kill('SIGUSR2');
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      const killer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
