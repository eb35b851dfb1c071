import { execFileSync } from 'node:child_process';

/** Makes a WAV with the real sox; fails (never skips) when sox is missing. */
export function soxWav(
  path: string,
  seconds: number,
  args: string[] = ['-e', 'signed-integer', '-b', '16'],
): string {
  try {
    execFileSync(
      'sox',
      ['-n', '-r', '8000', '-c', '1', ...args, path, 'synth', String(seconds), 'sine', '440'],
      { stdio: 'pipe' },
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error('sox is not installed (apt-get install sox)');
    throw err;
  }
  return path;
}
