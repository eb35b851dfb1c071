import { execFileSync } from 'node:child_process';
import { hasCommand } from '../tools.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Speech from espeak-ng as an 8 kHz 16-bit WAV (telephone quality) when sox is there to resample,
 * else espeak-ng's own 22.05 kHz WAV.
 */
export function speak(text: string, voice = 'en-us', withSox = hasCommand('sox')): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'voicegate-speech-'));
  try {
    const raw = join(dir, 'speech.wav');
    execFileSync('espeak-ng', ['-v', voice, '-s', '155', '-w', raw, text], { stdio: 'ignore' });
    if (!withSox) return readFileSync(raw);
    const phone = join(dir, 'phone.wav');
    execFileSync('sox', [raw, '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', phone], {
      stdio: 'ignore',
    });
    return readFileSync(phone);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
