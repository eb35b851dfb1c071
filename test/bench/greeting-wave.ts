/**
 * Where the IMAP benchmark's slow greetings come from: waves of 50 clients connecting at once
 * (as the imap benchmark's opening waves do) to `voicegate serve`, each waiting for its greeting
 * and then, in some waves, sending LOGIN at once. Waves in turn: greetings alone; with LOGIN
 * while the code-hashing process has ended (the first after start, and one after it ended
 * 30 s idle), which starts them; with LOGIN while they live. The connect-to-greeting times, p50
 * and max, per wave, LOGIN's p50 and max, and the server's CPU per connection in the wave (its
 * main thread, its code-hashing process, its other threads; /proc's schedstat, to the ns): the
 * waves of greetings alone give a connection's main-thread cost, the others that of a LOGIN
 * beyond it. Nothing else runs meanwhile; the load average is printed.
 * `GREETING_WAVE_NODE_ARGS` passes node flags (e.g. `--cpu-prof --cpu-prof-dir=DIR`) to the server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { toneWav } from '../../server/media/tone.ts';
import { fixed, machine, markdownTable, sleep, writeResult, type Benchmark } from './bench-kit.ts';
import { RawImap } from './imap-client.ts';
import { prepareStore, VoicegateServer } from './imap-voicegate.ts';
import { freePort } from './web-servers.ts';

const CLIENTS = 50;
const CODE = '482913';
/** The code-hashing process ends after 30 s idle (server/domain/code-hash-pool.ts). */
const THREADS_IDLE_MS = 35_000;

const benchmark: Benchmark = {
  name: 'greeting-wave',
  title: 'IMAP greetings to 50 clients connecting at once, with and without LOGIN after them',
  run,
};
export default benchmark;

/** Time for the server to see the wave's sockets closed before its CPU is read. */
const SETTLE_MS = 300;

interface Wave {
  wave: string;
  p50: number;
  max: number;
  login?: { p50: number; max: number };
  /** The server's main-thread CPU from the wave's start until the client had its last greeting, ms. */
  mainToLastGreeting: number;
  /** The server's CPU per connection of the wave, ms, by thread (closing them included). */
  cpuMs: { main: number; hashing: number; other: number };
}

async function wave(
  port: number,
  names: string[],
  login: boolean,
  serverMainMs: () => number,
): Promise<{ greetings: number[]; logins: number[]; mainToLastGreeting: number }> {
  const greetings: number[] = [];
  const logins: number[] = [];
  const main0 = serverMainMs();
  let mainToLastGreeting = 0;
  const clients = await Promise.all(
    names.map(async (name, i) => {
      const t0 = performance.now();
      const c = await RawImap.open({
        host: '127.0.0.1',
        port,
        localAddress: `127.0.0.${2 + (i % 8)}`,
      });
      greetings.push(performance.now() - t0);
      // The server's main-thread CPU until it had greeted everyone: what the greetings waited
      // behind, in CPU rather than wall time (steadier on a shared machine).
      if (greetings.length === names.length) mainToLastGreeting = serverMainMs() - main0;
      if (login) {
        const reply = await c.command(`LOGIN ${name} ${CODE}`);
        if (reply.status !== 'OK') throw new Error(`LOGIN ${name}: ${reply.status} ${reply.text}`);
        logins.push(reply.ms);
      }
      return c;
    }),
  );
  for (const c of clients) c.socket.destroy();
  const sorted = (v: number[]): number[] => v.sort((a, b) => a - b);
  return { greetings: sorted(greetings), logins: sorted(logins), mainToLastGreeting };
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
    const nodeArgs = process.env.GREETING_WAVE_NODE_ARGS?.split(' ').filter(Boolean);
    const server = await VoicegateServer.start(config, port, {
      logFile: join(dir, 'serve.log'),
      nodeArgs,
    });
    const waves: Wave[] = [];
    const p50 = (v: number[]): number => v[Math.floor(v.length / 2)]!;
    const measure = async (label: string, login: boolean): Promise<void> => {
      const cpu0 = server.threadCpuMs(true);
      const t = await wave(port, names, login, () => server.threadCpuMs(true).main);
      await sleep(SETTLE_MS);
      const cpu1 = server.threadCpuMs(true);
      const per = (role: 'main' | 'hashing' | 'other'): number =>
        (cpu1[role] - cpu0[role]) / names.length;
      const w: Wave = {
        wave: label,
        p50: p50(t.greetings),
        max: t.greetings.at(-1)!,
        ...(login ? { login: { p50: p50(t.logins), max: t.logins.at(-1)! } } : {}),
        mainToLastGreeting: t.mainToLastGreeting,
        // Threads that ended meanwhile take their time with them: hashing is a floor.
        cpuMs: { main: per('main'), hashing: Math.max(0, per('hashing')), other: per('other') },
      };
      waves.push(w);
      console.info(
        `${label}: greeting p50 ${fixed(w.p50)} ms, max ${fixed(w.max)} ms` +
          (w.login ? `; LOGIN p50 ${fixed(w.login.p50)}, max ${fixed(w.login.max)} ms` : '') +
          `; main thread ${fixed(w.mainToLastGreeting)} ms to the last greeting, ${fixed(w.cpuMs.main, 3)} ms per connection`,
      );
    };
    try {
      await measure('greetings alone', false);
      await measure('with LOGIN, hashing process started by it', true);
      await measure('greetings alone', false);
      await measure('with LOGIN, hashing process alive', true);
      await measure('with LOGIN, hashing process alive', true);
      await new Promise((r) => setTimeout(r, THREADS_IDLE_MS));
      await measure('with LOGIN, after 35 s idle: hashing started again', true);
      await measure('with LOGIN, hashing process alive', true);
    } finally {
      await server.stop();
    }
    const load = loadavg()[0]!;
    const alone = waves.filter((w) => !w.login);
    const perConnection = alone.reduce((sum, w) => sum + w.cpuMs.main, 0) / alone.length;
    const markdown = [
      '# IMAP greetings in waves of 50 clients',
      '',
      `${new Date().toISOString()}; ${JSON.stringify(machine())}; \`npm run bench -- greeting-wave\` (test/bench/greeting-wave.ts); load average ${fixed(load)} at the end.`,
      '',
      markdownTable({
        head: [
          'wave',
          'greeting p50 ms',
          'greeting max ms',
          'LOGIN p50 / max ms',
          'main-thread CPU ms to the last greeting',
          'main-thread CPU ms per connection',
          'of it LOGIN',
          'hashing / other threads CPU ms per connection',
        ],
        rows: waves.map((w) => [
          w.wave,
          fixed(w.p50),
          fixed(w.max),
          w.login ? `${fixed(w.login.p50)} / ${fixed(w.login.max)}` : '',
          fixed(w.mainToLastGreeting),
          fixed(w.cpuMs.main, 3),
          w.login ? fixed(w.cpuMs.main - perConnection, 3) : '',
          `${fixed(w.cpuMs.hashing, 1)} / ${fixed(w.cpuMs.other, 2)}`,
        ]),
      }),
      '',
      `- "Main-thread CPU to the last greeting": the server's main thread from the wave's start until the client had all 50 greetings (what they waited behind, in CPU: steadier than wall time on a shared machine); in LOGIN waves, greetings that waited behind log-ins show here.`,
      `- A connection's main-thread CPU (connect, greeting, close): ${fixed(perConnection, 3)} ms, the mean of the waves of greetings alone; "of it LOGIN" is a LOGIN wave's less that. CPU from /proc/PID/task/TID/schedstat, read before each wave and ${SETTLE_MS} ms after its sockets closed.`,
      ...(nodeArgs?.length ? [`- Server node flags: ${nodeArgs.join(' ')}.`] : []),
    ].join('\n');
    console.info(
      `\nwritten: ${writeResult('greeting-wave', markdown, { waves, perConnection, load, nodeArgs })}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
