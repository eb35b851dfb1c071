/**
 * smtp-server's own DATA reader, before our patch (patches/smtp-server+*.patch): the installed
 * `dist/cjs/smtp-stream.js` with the patch's hunk for it reversed (`patch -R`), loaded from a
 * scratch folder. The tests use it as the oracle of the patched reader, the smtp-data benchmark
 * as its yardstick. An installed file that is not what the patch made fails here, loudly.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { PROJECT_DIR } from '../bench/bench-kit.ts';

const FILE = 'node_modules/smtp-server/dist/cjs/smtp-stream.js';

export function unpatchedSmtpStream(): typeof SMTPStream {
  const patches = join(PROJECT_DIR, 'patches');
  const patchFile = readdirSync(patches).find((f) => f.startsWith('smtp-server+'));
  if (!patchFile) throw new Error('no patches/smtp-server+*.patch');
  const hunk = readFileSync(join(patches, patchFile), 'latin1')
    .split(/^(?=diff --git )/m)
    .find((h) => h.startsWith(`diff --git a/${FILE} `));
  if (!hunk) throw new Error(`${patchFile} does not patch ${FILE}`);
  const dir = mkdtempSync(join(tmpdir(), 'smtp-stream-unpatched-'));
  try {
    const out = join(dir, 'smtp-stream.cjs');
    writeFileSync(join(dir, 'hunk.patch'), hunk, 'latin1');
    const reversed = spawnSync(
      'patch',
      ['-R', '-s', '-o', out, join(PROJECT_DIR, FILE), join(dir, 'hunk.patch')],
      { encoding: 'utf8' },
    );
    if (reversed.status !== 0) throw new Error(`patch -R: ${reversed.stdout}${reversed.stderr}`);
    return (createRequire(out)(out) as { SMTPStream: typeof SMTPStream }).SMTPStream;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
