import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWav } from '../../server/media/wav.ts';
import { tempData, type TempData } from '../helpers/temp-data.ts';
import { embedded } from './embedded.ts';
import { CRASH_TONES, sha256 } from './fixtures/crash-tones.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/deposit-loop.ts', import.meta.url));
const TONE_HASHES = CRASH_TONES.map(sha256);

interface KillPlan {
  /** Kill once this many ACKs have been read... */
  afterAcks: number;
  /** ...and this many milliseconds more have passed. */
  delayMs: number;
}

/** A small seeded generator (mulberry32), so a failing kill point can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seededPlan(seed: number): KillPlan {
  const random = seeded(seed);
  return { afterAcks: 8 + Math.floor(random() * 33), delayMs: Math.floor(random() * 25) };
}

/** Runs the deposit loop and SIGKILLs it at the planned moment; returns every id it ACKed. */
async function depositUntilKilled(
  configFile: string,
  plan: KillPlan,
): Promise<{ acked: string[]; signal: string | null; stderr: string }> {
  const child = spawn(process.execPath, [FIXTURE, configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acked: string[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // Never hang the suite if the child stalls before the kill point.
  const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const closed = new Promise<string | null>((resolve) =>
    child.on('close', (_code, signal) => resolve(signal)),
  );
  // Every line is read, including ACKs printed between the decision to kill and the signal landing.
  for await (const line of createInterface({ input: child.stdout })) {
    if (!line.startsWith('ACK ')) continue;
    acked.push(line.slice(4));
    if (acked.length === plan.afterAcks) {
      if (plan.delayMs === 0) child.kill('SIGKILL');
      else setTimeout(() => child.kill('SIGKILL'), plan.delayMs);
    }
  }
  const signal = await closed;
  clearTimeout(guard);
  return { acked, signal, stderr };
}

/** The audio files in their final place (`<2 hex>/<key>.wav`), by key. */
function placedAudio(audioRoot: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(audioRoot, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === 'tmp') continue;
    for (const file of readdirSync(join(audioRoot, entry.name))) {
      files.set(file.replace(/\.wav$/, ''), join(audioRoot, entry.name, file));
    }
  }
  return files;
}

let data: TempData | undefined;
afterEach(() => {
  data?.remove();
  data = undefined;
});

describe('a deposit process killed with SIGKILL', () => {
  const plans: [string, KillPlan][] = [
    ['right after the 30th ACK', { afterAcks: 30, delayMs: 0 }],
    ...[7, 2024].map((seed): [string, KillPlan] => {
      const plan = seededPlan(seed);
      return [
        `at a seeded moment (seed ${seed}: ${plan.delayMs} ms after ACK ${plan.afterAcks})`,
        plan,
      ];
    }),
  ];

  it.each(plans)(
    'leaves each message whole or absent, never half: killed %s',
    async (_name, plan) => {
      data = tempData();
      const run = await depositUntilKilled(data.configFile, plan);
      expect(run.signal, `the child was not killed mid-loop; its stderr:\n${run.stderr}`).toBe(
        'SIGKILL',
      );
      expect(run.acked.length).toBeGreaterThanOrEqual(plan.afterAcks);

      const ctx = await data.open();
      try {
        const mailbox = await ctx.mailboxes.resolve('crash');
        const messages = await ctx.store.listMessages(mailbox.id);
        const listed = new Set(messages.map((m) => m.id));
        const lost = run.acked.filter((id) => !listed.has(id));
        expect(lost, 'messages acknowledged to the caller but gone after the crash').toEqual([]);

        // Every stored message plays back exactly what was deposited.
        for (const m of messages) {
          const tone = Number(/^tone-(\d+)$/.exec(m.callerNumber ?? '')?.[1]);
          const expected = CRASH_TONES[tone];
          expect(
            expected,
            `message ${m.id} has an unexpected caller ${m.callerNumber}`,
          ).toBeDefined();
          const bytes = await ctx.audio.read(m.audio.key);
          expect(sha256(bytes), `audio of message ${m.id}`).toBe(TONE_HASHES[tone]);
          expect(m.audio.bytes).toBe(expected!.byteLength);
          expect(parseWav(bytes).durationMs).toBe(m.audio.durationMs);
        }

        // Audio in its final place is whole even where no record refers to it yet (renamed, not committed).
        const { store, audio } = embedded(ctx);
        const audioRoot = audio.root;
        for (const [key, path] of placedAudio(audioRoot)) {
          expect(TONE_HASHES, `audio file ${key} is not a whole recording`).toContain(
            sha256(readFileSync(path)),
          );
        }

        const referenced = store.referencedAudio();
        expect(referenced).toEqual(new Set(messages.map((m) => m.audio.key)));
        audio.sweep((key) => referenced.has(key), 0);
        expect(readdirSync(join(audioRoot, 'tmp')), 'temporary files left after the sweep').toEqual(
          [],
        );
        expect([...placedAudio(audioRoot).keys()].sort()).toEqual([...referenced].sort());

        expect(store.db.prepare('PRAGMA integrity_check').all()).toEqual([
          { integrity_check: 'ok' },
        ]);

        // And the store takes deposits again.
        const [after] = await ctx.messages.deposit({
          mailbox: 'crash',
          audio: CRASH_TONES[0]!,
          callerNumber: 'after crash',
        });
        expect((await ctx.messages.list(mailbox.id)).map((m) => m.id)).toContain(after!.id);
      } finally {
        await ctx.close();
      }
    },
  );
});
