import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPrompts } from '../../scripts/build-prompts.ts';
import { hasCommand } from '../../server/tools.ts';

const SCRIPT = fileURLToPath(new URL('../../scripts/build-prompts.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'voicegate-prompts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tools = hasCommand('espeak-ng') && hasCommand('sox');

const md5 = (file: string) => createHash('md5').update(readFileSync(file)).digest('hex');

describe('build-prompts', () => {
  const textDir = join(dir, 'text');
  mkdirSync(join(textDir, 'en'), { recursive: true });
  mkdirSync(join(textDir, 'fr'), { recursive: true });
  writeFileSync(
    join(textDir, 'en', 'common.yaml'),
    'hello: Hello there.\ntone: { tone: 1000, ms: 200 }\n',
  );
  writeFileSync(join(textDir, 'fr', 'common.yaml'), 'hello: Bonjour.\n');

  it.skipIf(!tools)('builds identical files twice, and skips what did not change', async () => {
    const a = join(dir, 'wav-a');
    const b = join(dir, 'wav-b');
    expect(await buildPrompts({ textDir, wavDir: a })).toEqual({
      built: 3,
      skipped: 0,
      removed: 0,
    });
    expect(await buildPrompts({ textDir, wavDir: b, force: true })).toMatchObject({ built: 3 });
    for (const f of ['en/hello.wav', 'en/tone.wav', 'fr/hello.wav'])
      expect(md5(join(a, f))).toBe(md5(join(b, f)));
    const head = readFileSync(join(a, 'en/hello.wav'));
    expect(head.readUInt32LE(24)).toBe(8000);
    expect(head.readUInt16LE(22)).toBe(1);

    expect(await buildPrompts({ textDir, wavDir: a })).toEqual({
      built: 0,
      skipped: 3,
      removed: 0,
    });
    writeFileSync(join(textDir, 'fr', 'common.yaml'), 'hello: Salut.\n');
    writeFileSync(join(textDir, 'en', 'common.yaml'), 'hello: Hello there.\n');
    expect(await buildPrompts({ textDir, wavDir: a })).toEqual({
      built: 1,
      skipped: 1,
      removed: 1,
    });
  });

  it('without espeak-ng or sox, warns once and exits 0', () => {
    const r = spawnSync(process.execPath, [SCRIPT], {
      env: { PATH: dirname(process.execPath) },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/warning: .*not installed, prompts not built/);
  });
});
