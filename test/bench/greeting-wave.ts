/**
 * Where the IMAP benchmark's slow greetings come from: waves of 50 clients connecting at once
 * (as the imap benchmark's opening waves do) to `voicegate serve`, each waiting for its greeting
 * and then, in some waves, sending LOGIN at once. Waves in turn: greetings alone; with LOGIN
 * while the code-hashing threads have ended (the first after start, and one after they ended
 * 30 s idle), which starts them; with LOGIN while they live. The connect-to-greeting times, p50
 * and max, per wave. Nothing else runs meanwhile; the load average is printed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { toneWav } from '../../server/media/tone.ts';
import { fixed, machine, markdownTable, writeResult, type Benchmark } from './bench-kit.ts';
import { RawImap } from './imap-client.ts';
import { prepareStore, VoicegateServer } from './imap-voicegate.ts';
import { freePort } from './web-servers.ts';

const CLIENTS = 50;
const CODE = '482913';
/** The code-hashing threads end after 30 s idle (server/domain/code-hash-pool.ts). */
const THREADS_IDLE_MS = 35_000;

const benchmark: Benchmark = {
  name: 'greeting-wave',
  title: 'IMAP greetings to 50 clients connecting at once, with and without LOGIN after them',
  run,
};
export default benchmark;

interface Wave {
  wave: string;
  p50: number;
  max: number;
}

async function wave(port: number, names: string[], login: boolean): Promise<number[]> {
  const times: number[] = [];
  const clients = await Promise.all(
    names.map(async (name, i) => {
      const t0 = performance.now();
      const c = await RawImap.open({
        host: '127.0.0.1',
        port,
        localAddress: `127.0.0.${2 + (i % 8)}`,
      });
      times.push(performance.now() - t0);
      if (login) await c.command(`LOGIN ${name} ${CODE}`);
      return c;
    }),
  );
  for (const c of clients) c.socket.destroy();
  return times.sort((a, b) => a - b);
}

async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'voicegate-bench-wave-'));
  try {
    const names = Array.from({ length: CLIENTS }, (_, i) => `wave${i + 1}`);
    const config = await prepareStore(
      dir,
      names.map((name) => ({ name, code: CODE, messages: 0 })),
      toneWav({ seconds: 1 }),
    );
    const port = await freePort();
    const server = await VoicegateServer.start(config, port, { logFile: join(dir, 'serve.log') });
    const waves: Wave[] = [];
    const measure = async (label: string, login: boolean): Promise<void> => {
      const t = await wave(port, names, login);
      waves.push({ wave: label, p50: t[Math.floor(t.length / 2)]!, max: t.at(-1)! });
      console.info(
        `${label}: p50 ${fixed(waves.at(-1)!.p50)} ms, max ${fixed(waves.at(-1)!.max)} ms`,
      );
    };
    try {
      await measure('greetings alone', false);
      await measure('with LOGIN, hashing threads started by it', true);
      await measure('greetings alone', false);
      await measure('with LOGIN, hashing threads alive', true);
      await measure('with LOGIN, hashing threads alive', true);
      await new Promise((r) => setTimeout(r, THREADS_IDLE_MS));
      await measure('with LOGIN, after 35 s idle: threads started again', true);
      await measure('with LOGIN, hashing threads alive', true);
    } finally {
      await server.stop();
    }
    const load = loadavg()[0]!;
    const markdown = [
      '# IMAP greetings in waves of 50 clients',
      '',
      `${new Date().toISOString()}; ${JSON.stringify(machine())}; \`npm run bench -- greeting-wave\` (test/bench/greeting-wave.ts); load average ${fixed(load)} at the end.`,
      '',
      markdownTable({
        head: ['wave', 'greeting p50 ms', 'greeting max ms'],
        rows: waves.map((w) => [w.wave, fixed(w.p50), fixed(w.max)]),
      }),
    ].join('\n');
    console.info(`\nwritten: ${writeResult('greeting-wave', markdown, { waves, load })}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
