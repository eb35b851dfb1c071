/**
 * Runs the real sox binary. These tests exist to prove we agree with sox, so a machine
 * without it must fail loudly rather than skip.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function run(args: string[]): { stdout: Buffer; stderr: string } {
  const result = spawnSync('sox', args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error(
      'sox is not installed: test/media needs the real sox binary (apt-get install sox)',
    );
  }
  if (result.error) throw result.error;
  const stderr = result.stderr.toString('utf8');
  if (result.status !== 0) throw new Error(`sox ${args.join(' ')} failed: ${stderr}`);
  return { stdout: result.stdout, stderr };
}

export function sox(args: string[]): string {
  return run(args).stdout.toString('utf8');
}

/** `sox file -n stat`, as numbers keyed by sox's own labels ("Maximum amplitude", ...). */
export function soxStat(file: string): Record<string, number> {
  const stats: Record<string, number> = {};
  for (const line of run([file, '-n', 'stat']).stderr.split('\n')) {
    const m = /^(.+?):\s+(-?[\d.]+)$/.exec(line.trim());
    if (m) stats[m[1]!.replace(/\s+/g, ' ')] = Number(m[2]);
  }
  return stats;
}

/** `sox --i -<flag> file`, trimmed: r rate, c channels, e encoding, b bits, s samples, D seconds. */
export function soxInfo(file: string, flag: string): string {
  return sox(['--i', `-${flag}`, file]).trim();
}

/** The file's samples as sox decodes them: 16-bit signed little-endian, interleaved. */
export function soxSamples(file: string): Int16Array {
  const raw = run(['-D', file, '-t', 'raw', '-e', 'signed-integer', '-b', '16', '-L', '-']).stdout;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return Int16Array.from({ length: raw.length >> 1 }, (_, i) => view.getInt16(i * 2, true));
}

/** A scratch directory with helpers to write, read and make files with sox in it. */
export function scratch() {
  const dir = mkdtempSync(join(tmpdir(), 'voicegate-media-'));
  const path = (name: string) => join(dir, name);
  return {
    path,
    read: (name: string) => new Uint8Array(readFileSync(path(name))),
    write: (name: string, bytes: Uint8Array | string) => writeFileSync(path(name), bytes),
    /** `sox -n <options> name synth <seconds> sine 440`: a generated tone in the given format. */
    synth(name: string, options: string[], seconds = 1.5): Uint8Array {
      sox(['-n', ...options, path(name), 'synth', String(seconds), 'sine', '440']);
      return new Uint8Array(readFileSync(path(name)));
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
