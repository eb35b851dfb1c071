import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, freePortRange } from '../helpers/free-port.ts';

export const SCENARIOS = join(import.meta.dirname, 'scenarios');

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
  // SIPp binds audio and video RTP and RTCP: four ports from an even one.
  const mediaPort = await freePortRange(4);
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
