import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SCENARIOS = join(import.meta.dirname, 'scenarios');

/** A port free for UDP and TCP on 127.0.0.1, found by binding port 0 (SIPp cannot take 0). */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const udp = createSocket('udp4');
    const port = await new Promise<number>((resolve) =>
      udp.bind(0, '127.0.0.1', () => resolve(udp.address().port)),
    );
    const ok = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    udp.close();
    if (ok) return port;
  }
  throw new Error('no free port');
}

/** An even port with the next three free on UDP: SIPp binds audio and video RTP and RTCP. */
async function freeMediaPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    // Below the kernel's ephemeral range (32768+), where port-0 sockets land.
    const base = 20000 + 4 * Math.floor(Math.random() * 3000);
    const sockets = [];
    let ok = true;
    for (let p = base; p < base + 4 && ok; p++) {
      const s = createSocket('udp4');
      ok = await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false));
        s.bind(p, '127.0.0.1', () => resolve(true));
      });
      sockets.push(s);
    }
    for (const s of sockets) s.close();
    if (ok) return base;
  }
  throw new Error('no free media ports');
}

export interface SippPeer {
  /** SIPp's own SIP port. */
  port: number;
  /** Exit code (0: every step passed) and its error log. */
  done: Promise<{ code: number | null; log: string }>;
  kill(): void;
}

/**
 * Starts SIPp with one of our scenarios. `target` is our UA (`127.0.0.1:port`) for a UAC
 * scenario, or null for a UAS one that waits for us. Fails, never skips, without sipp.
 */
export async function startSipp(
  scenario: string,
  target: string | null,
  o: { tcp?: boolean; timeoutSeconds?: number } = {},
): Promise<SippPeer> {
  const port = await freePort();
  const mediaPort = await freeMediaPort();
  const dir = mkdtempSync(join(tmpdir(), 'vg-sip-sipp-'));
  const timeout = o.timeoutSeconds ?? 15;
  const args = [
    ...(target ? [target] : []),
    '-sf',
    join(SCENARIOS, scenario),
    '-s',
    'vm',
    '-i',
    '127.0.0.1',
    '-p',
    String(port),
    '-mi',
    '127.0.0.1',
    '-mp',
    String(mediaPort),
    '-m',
    '1',
    '-timeout',
    `${timeout}s`,
    '-timeout_error',
    '-nostdin',
    '-nd',
    '-trace_err',
    ...(o.tcp ? ['-t', 't1'] : []),
  ];
  const proc: ChildProcess = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out = (out + c.toString('latin1')).slice(-4000)));
  proc.stderr?.on('data', (c: Buffer) => (out = (out + c.toString('latin1')).slice(-4000)));
  const killer = setTimeout(() => proc.kill('SIGKILL'), (timeout + 5) * 1000);
  const done = new Promise<{ code: number | null; log: string }>((resolve, reject) => {
    proc.once('error', (err) => {
      clearTimeout(killer);
      reject(
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? new Error('sipp is not installed (apt-get install sip-tester)')
          : err,
      );
    });
    proc.once('exit', (code) => {
      clearTimeout(killer);
      const logs = readdirSync(dir)
        .filter((f) => f.endsWith('.log'))
        .map((f) => `--- ${f}\n${readFileSync(join(dir, f), 'latin1').slice(-3000)}`)
        .join('\n');
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, log: `${out}\n${logs}` });
    });
  });
  // Let it bind before a UAS scenario is sent anything (requests are retransmitted anyway).
  await new Promise((r) => setTimeout(r, target ? 0 : 150));
  return {
    port,
    done,
    kill: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}
