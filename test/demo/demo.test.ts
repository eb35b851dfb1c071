import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.ts';

const run = promisify(execFile);
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-demo-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Listed {
  callerName: string | null;
  state: string;
  priority: string;
  private: boolean;
  audio: { durationMs: number; format: string };
}

describe('voicegate demo', () => {
  it('creates demo mailboxes with spoken messages, once', async () => {
    const first = await runCli(['demo', '--dir', dir, '--no-serve']);
    expect(first.code).toBe(0);
    expect(first.stdout).not.toContain('espeak-ng is not installed');
    // Each phone's SIP password is printed, and set: the mailbox has credentials for the realm.
    expect(first.stdout).toMatch(/alice\s+201\s+2011\s+phone-alice-201/);
    expect(first.stdout).toMatch(/support\s+300\s+3000\s+hunt group/);
    const cfg = ['--config', join(dir, 'voicegate.yaml')];
    expect((await runCli([...cfg, 'mailbox', 'show', 'alice'])).stdout).toMatch(
      /sipCredentials +user 201, realm /,
    );
    const list = async (box: string, folder = 'inbox'): Promise<Listed[]> =>
      JSON.parse(
        (await runCli([...cfg, 'messages', box, '--folder', folder, '--json'])).stdout,
      ) as Listed[];
    const alice = await list('alice');
    expect(alice.map((m) => [m.callerName, m.state])).toEqual([
      ['Carmen Ruiz', 'saved'],
      ['Parcel Service', 'old'],
      ['Bob Chen', 'new'],
      ['Dana Leroy', 'new'],
    ]);
    expect(alice.find((m) => m.callerName === 'Bob Chen')?.priority).toBe('high');
    expect(alice.find((m) => m.callerName === 'Carmen Ruiz')?.private).toBe(true);
    // espeak-ng speech resampled to telephone quality; lengths follow the spoken texts.
    for (const m of alice) {
      expect(m.audio.format).toBe('wav/pcm16/8000');
      expect(m.audio.durationMs).toBeGreaterThan(4000);
    }
    expect((await list('bob', 'deleted')).length).toBe(1);
    expect((await list('support')).length).toBe(1);
    const again = await runCli(['demo', '--dir', dir, '--no-serve']);
    expect(again.code).toBe(0);
    expect((await list('alice')).length).toBe(4);
  });

  it('serves the demo on unprivileged ports', async () => {
    const child = spawn(
      process.execPath,
      [
        BIN,
        'demo',
        '--dir',
        dir,
        '--set',
        'http.port=0',
        '--set',
        'imap.port=0',
        '--set',
        'imap.tlsPort=0',
        '--set',
        'smtp.port=0',
        // A server elsewhere on this machine may hold 5060.
        '--set',
        'sip.port=0',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo did not start: ${out}`)), 20_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /Health: (\S+)\/healthz\nServing/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    const { stdout } = await run('curl', [
      '-s',
      '--cacert',
      join(dir, 'tls/cert.pem'),
      `${url}/healthz`,
    ]);
    expect(JSON.parse(stdout)).toEqual({ status: 'ok' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
