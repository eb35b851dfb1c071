/**
 * The servers whose memory per idle IMAP connection imap-memory.ts measures, each as its own
 * process started fresh for one transport: Voicegate (`voicegate serve`), the bare Node server of
 * memory-yardstick.js, and Dovecot (hibernating its IDLE sessions). Each gives its memory (RSS
 * and PSS over its processes, after a full collection for the Node ones), its CPU time, and for
 * the Node ones what memory-probe.js reads (V8's heap, Buffers, the event loop's busy time).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverEnv } from '../../bin/server-flags.js';
import { freePort } from '../helpers/free-port.ts';
import { Dovecot, hibernated } from './imap-dovecot.ts';
import { hashingThreadsEnded, treeCpuMs, treeMemory } from './imap-proc.ts';
import { VoicegateServer } from './imap-voicegate.ts';

const PROBE = fileURLToPath(new URL('./memory-probe.js', import.meta.url));
const YARDSTICK = fileURLToPath(new URL('./memory-yardstick.js', import.meta.url));
/** What bin/voicegate.js starts `serve` with: the bare Node yardstick runs with the same. */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=2', '--optimize-for-size'];

export type Transport = 'plain' | 'tls';

/** What memory-probe.js writes. */
export interface ProbeReading {
  usage: NodeJS.MemoryUsage;
  /** RSS and live-and-dead heap just before the full collection the other figures follow. */
  beforeCollection?: { rss: number; heapUsed: number };
  /** Per space: bytes of live objects, bytes reserved. */
  spaces: Record<string, [number, number]>;
  rssAnonKiB: number;
  rssFileKiB: number;
  threads: number;
  elu: { active: number; idle: number };
}

export interface Reading {
  rssBytes: number;
  pssBytes: number;
  cpuMs: number;
  probe?: ProbeReading;
}

export interface Running {
  port: number;
  /** Sessions log in, select INBOX and IDLE (the yardstick only answers); else greeting only. */
  login: boolean;
  /** Memory once every session is at rest (Dovecot: hibernated; Node: after a collection). */
  read(): Promise<Reading>;
  /** CPU ms the server's processes have used so far. */
  cpuMs(): number;
  stop(): Promise<void>;
}

export interface Subject {
  name: string;
  start(transport: Transport): Promise<Running>;
}

export interface Certificate {
  cert: string;
  key: string;
}

/** Asks memory-probe.js in `pid` for a reading (SIGUSR2) and waits for its file. */
async function probe(pid: number, file: string): Promise<ProbeReading> {
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (;;) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as ProbeReading;
    } catch {
      // not written (completely) yet
    }
  }
}

async function nodeReading(pid: number, file: string): Promise<Reading> {
  // Voicegate's code-hashing process ends 30 s after the last log-in.
  await hashingThreadsEnded(pid);
  const reading = await probe(pid, file);
  const m = treeMemory(pid);
  return {
    rssBytes: m.rssMiB * 2 ** 20,
    pssBytes: m.pssMiB * 2 ** 20,
    cpuMs: treeCpuMs(pid),
    probe: reading,
  };
}

/** A self-signed P-256 certificate, as Voicegate makes its own, for all three servers. */
export function makeCertificate(dir: string): Certificate {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const out = spawnSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
      ...['-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'],
    ],
    { encoding: 'utf8' },
  );
  if (out.status !== 0) throw new Error(`openssl could not make a certificate: ${out.stderr}`);
  return { cert, key };
}

export function voicegate(
  configFile: string,
  root: string,
  certificate: Certificate,
  extraNodeArgs: string[],
): Subject {
  return {
    name: 'Voicegate',
    async start(transport) {
      const probeFile = join(root, `voicegate-${transport}.json`);
      const plainPort = await freePort();
      const tlsPort = transport === 'tls' ? await freePort() : 0;
      const server = await VoicegateServer.start(configFile, plainPort, {
        logFile: join(root, `voicegate-${transport}.log`),
        nodeArgs: ['--expose-gc', '--import', PROBE, ...extraNodeArgs],
        env: { VOICEGATE_MEMORY_PROBE: probeFile },
        sets: [
          `imap.tlsPort=${tlsPort}`,
          `tls.cert=${certificate.cert}`,
          `tls.key=${certificate.key}`,
        ],
      });
      return {
        port: transport === 'tls' ? tlsPort : plainPort,
        login: true,
        read: () => nodeReading(server.pid, probeFile),
        cpuMs: () => server.cpuMs(),
        stop: () => server.stop(),
      };
    },
  };
}

export function bareNode(root: string, certificate: Certificate, extraNodeArgs: string[]): Subject {
  return {
    name: 'bare Node',
    async start(transport) {
      const probeFile = join(root, `yardstick-${transport}.json`);
      const args = transport === 'tls' ? ['tls', certificate.cert, certificate.key] : ['plain'];
      const child: ChildProcess = spawn(
        process.execPath,
        [
          ...SERVER_NODE_FLAGS,
          ...extraNodeArgs,
          '--expose-gc',
          '--import',
          PROBE,
          YARDSTICK,
          ...args,
        ],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
          // As bin/voicegate.js starts `serve` (malloc's settings, jemalloc where installed).
          env: serverEnv({ ...process.env, VOICEGATE_MEMORY_PROBE: probeFile }),
        },
      );
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const line = /^\{.*\}$/m.exec(out);
          if (line) resolve((JSON.parse(line[0]) as { port: number }).port);
        });
        child.once('exit', (code) => reject(new Error(`memory-yardstick exited with ${code}`)));
      });
      return {
        port,
        login: true,
        read: () => nodeReading(child.pid!, probeFile),
        cpuMs: () => treeCpuMs(child.pid!),
        stop: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          await exited;
        },
      };
    },
  };
}

export function dovecot(
  root: string,
  users: { name: string; hash: string }[],
  certificate: Certificate,
): Subject {
  return {
    name: 'Dovecot',
    async start(transport) {
      const tlsPort = await freePort();
      const server = new Dovecot(join(root, `dovecot-${transport}`), await freePort(), {
        port: tlsPort,
        ...certificate,
      });
      server.prepare(users);
      for (const u of users) server.writeMaildir(u.name, []);
      await server.start();
      return {
        port: transport === 'tls' ? tlsPort : server.port,
        login: true,
        read: async () => {
          await hibernated(server);
          const m = server.memory();
          return {
            rssBytes: m.rssMiB * 2 ** 20,
            pssBytes: m.pssMiB * 2 ** 20,
            cpuMs: server.cpuMs(),
          };
        },
        cpuMs: () => server.cpuMs(),
        stop: () => server.stop(),
      };
    },
  };
}
