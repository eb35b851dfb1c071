import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatLocalTime } from '../../server/domain/time.ts';
import { runCli } from '../helpers/cli.ts';
import { soxWav } from '../helpers/sox.ts';

let dir: string;
let cfg: string[];
let wav: string;

function audioFiles(): string[] {
  const root = join(dir, 'audio');
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

interface Listed {
  id: string;
  state: string;
  callerNumber: string;
  callerName: string;
  priority: string;
  private: boolean;
  receivedAt: number;
  audio: { durationMs: number; format: string };
}

async function list(mailbox: string, folder = 'inbox'): Promise<Listed[]> {
  const r = await runCli([...cfg, 'messages', mailbox, '--folder', folder, '--json']);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Listed[];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-deposit-'));
  cfg = ['--config', join(dir, 'voicegate.yaml'), '--set', 'policy.maxMessageSeconds=60'];
  expect((await runCli(['init', '--dir', dir])).code).toBe(0);
  expect(
    (
      await runCli(
        [...cfg, 'mailbox', 'add', 'alice', '--extension', '201', '--tz', 'Asia/Tokyo'],
        { input: '1234\n' },
      )
    ).code,
  ).toBe(0);
  wav = soxWav(join(dir, 'in.wav'), 4);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('voicegate deposit and messages', () => {
  it("stores a WAV made by sox and lists it in the mailbox's time zone", async () => {
    const r = await runCli([
      ...cfg,
      'deposit',
      '201',
      wav,
      '--from',
      '+33142685300',
      '--name',
      'Dana Leroy',
      '--priority',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^stored [0-9a-f-]{36} in alice \(0:04\)$/m);
    const [m] = await list('alice');
    expect(m).toMatchObject({
      state: 'new',
      callerNumber: '+33142685300',
      callerName: 'Dana Leroy',
      priority: 'high',
      private: false,
    });
    expect(m!.audio).toMatchObject({ durationMs: 4000, format: 'wav/pcm16/8000' });
    const table = (await runCli([...cfg, 'messages', 'alice'])).stdout;
    expect(table).toContain(formatLocalTime(m!.receivedAt, 'Asia/Tokyo'));
    expect(table).toMatch(/Dana Leroy \(\+33142685300\)\s+0:04\s+new\s+priority/);
    // The stored audio is the deposited file, byte for byte.
    expect(audioFiles().map((f) => readFileSync(f).equals(readFileSync(wav)))).toEqual([true]);
  });

  it('stores µ-law and A-law WAVs and private messages', async () => {
    const ulaw = soxWav(join(dir, 'ulaw.wav'), 2, ['-e', 'u-law', '-b', '8']);
    expect((await runCli([...cfg, 'deposit', 'alice', ulaw, '--private'])).code).toBe(0);
    const alaw = soxWav(join(dir, 'alaw.wav'), 2, ['-e', 'a-law', '-b', '8']);
    expect((await runCli([...cfg, 'deposit', 'alice', alaw])).code).toBe(0);
    const formats = (await list('alice')).map((m) => [m.audio.format, m.private]);
    expect(formats).toContainEqual(['wav/mulaw/8000', true]);
    expect(formats).toContainEqual(['wav/alaw/8000', false]);
  });

  it('refuses bad input with one clear line, leaving nothing behind', async () => {
    const before = await list('alice');
    const filesBefore = audioFiles().length;
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not audio at all');
    const full = readFileSync(wav);
    const truncated = join(dir, 'truncated.wav');
    writeFileSync(truncated, full.subarray(0, full.length / 2));
    const long = soxWav(join(dir, 'long.wav'), 61);
    const cases: [string[], RegExp][] = [
      [['deposit', 'alice', text], /not a WAV file/],
      [['deposit', 'alice', truncated], /truncated WAV/],
      [['deposit', 'alice', long], /longer than the maximum of 60 s/],
      [['deposit', 'alice', join(dir, 'missing.wav')], /cannot read .*missing\.wav: ENOENT/],
      [['deposit', 'nobody', wav], /no mailbox named or numbered "nobody"/],
      [
        [
          'deposit',
          'alice',
          soxWav(join(dir, 'float.wav'), 2, ['-e', 'floating-point', '-b', '32']),
        ],
        /unsupported WAV encoding/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const r = await runCli([...cfg, ...args]);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    }
    expect(await list('alice')).toEqual(before);
    expect(audioFiles()).toHaveLength(filesBefore);
  });

  it('runs housekeeping from the command line', async () => {
    const r = await runCli([
      ...cfg,
      '--set',
      'housekeeping.deleteAfterHours.new=0.0000001',
      'housekeeping',
      'run',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { deleted: number; purged: number };
    expect(result.deleted).toBe(3);
    expect(await list('alice')).toEqual([]);
    expect((await list('alice', 'deleted')).map((m) => m.state)).toEqual([
      'deleted',
      'deleted',
      'deleted',
    ]);
  });
});
