import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.ts';
import { runSipp } from '../helpers/sipp.ts';

const CALLER = fileURLToPath(new URL('./scenarios/crash-caller.xml', import.meta.url));

interface Served {
  child: ChildProcess;
  sip: number;
}

/** `voicegate serve` in its own process, so it can be killed with SIGKILL. */
function serve(cfg: string[]): Promise<Served> {
  const sets = [
    'http.port=0',
    'imap.port=0',
    'imap.tlsPort=0',
    'smtp.port=0',
    'sip.port=0',
    'sip.rtpPortMin=0',
    'sip.rtpPortMax=0',
  ].flatMap((s) => ['--set', s]);
  const child = spawn(process.execPath, [BIN, ...cfg, 'serve', ...sets], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs}`)), 20_000);
    child.stderr!.on('data', (d: Buffer) => {
      logs += d.toString();
      const line = logs.split('\n').find((l) => l.includes('"voicegate serving"'));
      if (line) {
        clearTimeout(timer);
        resolve({ child, sip: (JSON.parse(line) as { ports: { sip: number } }).ports.sip });
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${logs}`)));
  });
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function messages(
  cfg: string[],
): Promise<{ audio: { durationMs: number }; callerNumber: string }[]> {
  const res = await runCli([...cfg, 'messages', '201', '--json']);
  expect(res.code).toBe(0);
  return JSON.parse(res.stdout) as { audio: { durationMs: number }; callerNumber: string }[];
}

describe(
  'a hang-up acknowledged by the phone part is durable (SIGKILL)',
  { timeout: 90_000 },
  () => {
    let dir: string;
    let cfg: string[];
    let server: Served | undefined;

    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), 'voicegate-phone-crash-'));
      cfg = ['--config', join(dir, 'voicegate.yaml')];
      expect((await runCli(['init', '--dir', dir])).code).toBe(0);
      const add = await runCli([...cfg, 'mailbox', 'add', 'alice', '--extension', '201'], {
        input: '1234\n',
      });
      expect(add.code).toBe(0);
    });
    afterEach(async () => {
      if (server) await kill(server.child);
      server = undefined;
      rmSync(dir, { recursive: true, force: true });
    });

    it('keeps the message whose BYE got its 200, though the server is killed at once', async () => {
      server = await serve(cfg);
      const run = await runSipp(CALLER, `127.0.0.1:${server.sip}`, { service: '201' });
      await kill(server.child); // the moment the caller saw its 200 OK
      expect(run.code, run.log).toBe(0);
      const [message] = await messages(cfg);
      expect(message).toBeDefined();
      expect(message!.callerNumber).toBe('5550111');
      expect(message!.audio.durationMs).toBeGreaterThan(5000);
    });

    it('stores nothing half-written when killed mid-recording, and serves again', async () => {
      server = await serve(cfg);
      const call = runSipp(CALLER, `127.0.0.1:${server.sip}`, {
        service: '201',
        timeoutSeconds: 20,
      });
      await new Promise((r) => setTimeout(r, 6000)); // inside the recording
      await kill(server.child);
      await call; // SIPp fails: its BYE is never answered
      expect(await messages(cfg)).toEqual([]);

      server = await serve(cfg);
      const again = await runSipp(CALLER, `127.0.0.1:${server.sip}`, { service: '201' });
      expect(again.code, again.log).toBe(0);
      expect(await messages(cfg)).toHaveLength(1);
      // Only the one stored message's audio is on disk: no partial or temporary files.
      const files = readdirSync(join(dir, 'audio'), {
        recursive: true,
        withFileTypes: true,
      }).filter((f) => f.isFile());
      expect(files).toHaveLength(1);
    });
  },
);
