import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, freePortRange } from './free-port.ts';

export interface SippRun {
  code: number | null;
  /** SIPp's error log and screen, for assertion messages. */
  log: string;
}

/**
 * Runs one SIPp (sip-tester) scenario against `target` on 127.0.0.1 and resolves when it
 * exits (0 = every step of the scenario passed). Fails, never skips, when sipp is missing.
 */
export async function runSipp(
  scenario: string,
  target: string,
  opts: {
    service?: string;
    args?: string[];
    timeoutSeconds?: number;
    calls?: number;
    /** Local SIP port; default a free one. */
    port?: number;
    /** Run in this network namespace (`ip netns exec`), from `ip` there instead of 127.0.0.1. */
    netns?: { name: string; ip: string };
    onStart?: (port: number) => void;
  } = {},
): Promise<SippRun> {
  const dir = mkdtempSync(join(tmpdir(), 'vg-sipp-'));
  const port = opts.port ?? (await freePort());
  // SIPp binds audio and video RTP and RTCP: four ports from an even one.
  const mediaPort = await freePortRange(4);
  const timeout = opts.timeoutSeconds ?? 30;
  const args = [
    target,
    '-sf',
    scenario,
    '-s',
    opts.service ?? 'vm',
    '-i',
    opts.netns?.ip ?? '127.0.0.1',
    '-mi',
    opts.netns?.ip ?? '127.0.0.1',
    '-mp',
    String(mediaPort),
    '-p',
    String(port),
    '-m',
    String(opts.calls ?? 1),
    '-timeout',
    `${timeout}s`,
    '-timeout_error',
    '-nostdin',
    '-nd',
    '-trace_err',
    '-trace_screen',
    ...(opts.args ?? []),
  ];
  const proc = opts.netns
    ? spawn('ip', ['netns', 'exec', opts.netns.name, 'sipp', ...args], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString('latin1')));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString('latin1')));
  opts.onStart?.(port);
  const code = await new Promise<number | null>((resolve, reject) => {
    const killer = setTimeout(() => proc.kill('SIGKILL'), (timeout + 10) * 1000);
    proc.once('error', (err) => {
      clearTimeout(killer);
      reject(
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? new Error('sipp is not installed (apt-get install sip-tester)')
          : err,
      );
    });
    proc.once('exit', (c) => {
      clearTimeout(killer);
      resolve(c);
    });
  });
  const logs = readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .map((f) => `--- ${f}\n${readFileSync(join(dir, f), 'latin1').slice(-4000)}`)
    .join('\n');
  return { code, log: `${out.slice(-2000)}\n${logs}` };
}
