/**
 * Builds the spoken prompts: server/prompts/text/<lang>/*.yaml -> server/prompts/wav/<lang>/<name>.wav
 * (8 kHz mono 16-bit), with espeak-ng and sox. Deterministic (sox -R), so a prompt is rebuilt only
 * when its text or the recipe changed (wav/manifest.json holds a hash of each). Without espeak-ng or
 * sox it warns once and exits 0: the server then plays a tone for each missing prompt.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasCommand } from '../server/tools.ts';
import {
  loadPromptTexts,
  PROMPT_TEXT_DIR,
  PROMPT_WAV_DIR,
  type PromptText,
} from '../server/prompts/texts.ts';
import { espeakVoice } from '../server/prompts/voices.ts';

/** Bump when the commands below change: every prompt is rebuilt. */
const RECIPE =
  'espeak-ng -s 160 | sox -R 8000/1/16 norm -3 pad 0.1 0.2; tone: synth sine fade norm -6; v1';
const OUT_FORMAT = ['-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer'];

export interface BuildOptions {
  textDir?: string;
  wavDir?: string;
  /** Rebuild even what the manifest says is current. */
  force?: boolean;
  jobs?: number;
}

export interface BuildResult {
  built: number;
  skipped: number;
  removed: number;
  /** Set when nothing could be built: espeak-ng or sox is missing. */
  missingTools?: string;
}

function pipe(text: string, voice: string, out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const espeak = spawn('espeak-ng', ['-v', voice, '-s', '160', '--stdout', '--', text], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const sox = spawn(
      'sox',
      ['-R', '-t', 'wav', '-', ...OUT_FORMAT, out, 'norm', '-3', 'pad', '0.1', '0.2'],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let err = '';
    espeak.stderr.on('data', (d: Buffer) => (err += d.toString()));
    sox.stderr.on('data', (d: Buffer) => (err += d.toString()));
    espeak.stdout.pipe(sox.stdin);
    espeak.on('error', reject);
    sox.on('error', reject);
    sox.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`sox exited with ${code}: ${err.trim()}`)),
    );
  });
}

function tone(hz: number, ms: number, out: string): Promise<void> {
  const s = String(ms / 1000);
  return new Promise((resolve, reject) => {
    const sox = spawn(
      'sox',
      [
        '-R',
        '-n',
        ...OUT_FORMAT,
        out,
        'synth',
        s,
        'sine',
        String(hz),
        'fade',
        'q',
        '0.01',
        s,
        '0.01',
        'norm',
        '-6',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    sox.stderr.on('data', (d: Buffer) => (err += d.toString()));
    sox.on('error', reject);
    sox.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`sox exited with ${code}: ${err.trim()}`)),
    );
  });
}

function hashOf(lang: string, text: PromptText): string {
  return createHash('sha256')
    .update(JSON.stringify({ RECIPE, voice: espeakVoice(lang), text }))
    .digest('hex');
}

/** Runs `tasks` with at most `jobs` at a time. */
async function pool(tasks: (() => Promise<void>)[], jobs: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, worker));
}

export async function buildPrompts(opts: BuildOptions = {}): Promise<BuildResult> {
  const textDir = opts.textDir ?? PROMPT_TEXT_DIR;
  const wavDir = opts.wavDir ?? PROMPT_WAV_DIR;
  const missing = ['espeak-ng', 'sox'].filter((t) => !hasCommand(t));
  if (missing.length > 0)
    return { built: 0, skipped: 0, removed: 0, missingTools: missing.join(' and ') };

  const manifestFile = join(wavDir, 'manifest.json');
  const old: Record<string, string> = existsSync(manifestFile)
    ? (JSON.parse(readFileSync(manifestFile, 'utf8')) as Record<string, string>)
    : {};
  const manifest: Record<string, string> = {};
  const tasks: (() => Promise<void>)[] = [];
  let skipped = 0;
  for (const [lang, prompts] of loadPromptTexts(textDir)) {
    mkdirSync(join(wavDir, lang), { recursive: true });
    for (const [name, text] of prompts) {
      const key = `${lang}/${name}`;
      const hash = hashOf(lang, text);
      const out = join(wavDir, lang, `${name}.wav`);
      if (!opts.force && old[key] === hash && existsSync(out)) {
        manifest[key] = hash;
        skipped++;
        continue;
      }
      tasks.push(async () => {
        // Written aside and renamed: an interrupted build never leaves half a prompt.
        const tmp = `${out}.tmp.wav`;
        if (typeof text === 'string') await pipe(text, espeakVoice(lang), tmp);
        else await tone(text.tone, text.ms, tmp);
        renameSync(tmp, out);
        manifest[key] = hash;
      });
    }
  }
  try {
    await pool(tasks, opts.jobs ?? Math.max(1, Math.min(4, availableParallelism())));
  } finally {
    const sorted = Object.fromEntries(
      Object.entries(manifest).sort(([a], [b]) => a.localeCompare(b)),
    );
    mkdirSync(wavDir, { recursive: true });
    writeFileSync(manifestFile, JSON.stringify(sorted, null, 2) + '\n');
  }
  // Prompts whose text was removed go too, so a stale file cannot answer for them.
  let removed = 0;
  for (const key of Object.keys(old)) {
    if (manifest[key]) continue;
    rmSync(join(wavDir, `${key}.wav`), { force: true });
    removed++;
  }
  return { built: tasks.length, skipped, removed };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await buildPrompts({ force: process.argv.includes('--force') });
  if (result.missingTools) {
    process.stderr.write(
      `build-prompts: warning: ${result.missingTools} not installed, prompts not built; ` +
        'the server plays a tone in their place (install espeak-ng and sox, then run npm run build)\n',
    );
  } else {
    process.stdout.write(
      `prompts: ${result.built} built, ${result.skipped} up to date` +
        (result.removed ? `, ${result.removed} removed` : '') +
        '\n',
    );
  }
}
