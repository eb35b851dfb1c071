/**
 * Voicegate's IMAP server side by side with Dovecot in the same run, on the same voicemails
 * (exported from Voicegate over IMAP into Maildir) and the same password-hash cost:
 * 1. 50 concurrent clients, each session LOGIN, SELECT INBOX, FETCH 1:* (FLAGS ENVELOPE
 *    BODYSTRUCTURE), FETCH 1 BODY[] (a 1-minute voicemail), LOGOUT;
 * 2. up to 10,000 IDLE sessions: each server's memory with all of them idle, and the time from
 *    a deposit by another process to the mailbox's IDLE sessions seeing EXISTS.
 * Both servers and the load generator are processes of their own, measured through /proc.
 */
import { mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  DEFAULT_COST,
  hashCode,
  verifyCode,
  type ScryptCost,
} from '../../server/domain/code-hash.ts';
import { toneWav } from '../../server/media/tone.ts';
import {
  machine,
  percentile,
  serverAllocator,
  sleep,
  writeResult,
  type BenchOptions,
  type Benchmark,
} from './bench-kit.ts';
import { quote, RawImap } from './imap-client.ts';
import {
  calibrateRounds,
  Dovecot,
  ensureDovecot,
  hibernated,
  raiseSysctl,
  sha512CryptHash,
  sha512CryptMs,
  type MaildirMessage,
} from './imap-dovecot.ts';
import { LoadGenerator } from './imap-load.ts';
import {
  measureHalf,
  measureIdle,
  mergeHalves,
  warmUp,
  type Deposit,
  type Half,
  type IdleSettings,
  type PhaseSettings,
  type Server,
} from './imap-phases.ts';
import { hashingThreadsEnded } from './imap-proc.ts';
import { report } from './imap-report.ts';
import type { Hashes } from './imap-results.ts';
import { prepareStore, startDepositor, VoicegateServer } from './imap-voicegate.ts';

const CLIENTS = 50;
const MESSAGES_PER_MAILBOX = 3;
const CODE = '13572468';
/** Logins in the IDLE phase use a cheap hash on both sides: phase 1 measures login cost. */
const IDLE_COST: ScryptCost = { N: 256, r: 8, p: 1 };
const IDLE_MAILBOXES = 200;
const IDLE: Omit<IdleSettings, 'mailboxes'> = {
  password: CODE,
  target: 10_000,
  batch: 500,
  openBudgetMs: 120_000,
  deposits: 30,
  existsTimeoutMs: 10_000,
};
const LOCAL_ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);
const INOTIFY_INSTANCES = '/proc/sys/fs/inotify/max_user_instances';
const INOTIFY_WATCHES = '/proc/sys/fs/inotify/max_user_watches';

const benchmark: Benchmark = {
  name: 'imap',
  title: 'IMAP sessions and 10,000 IDLE sessions, Voicegate side by side with Dovecot',
  run,
};
export default benchmark;

const users = Array.from({ length: CLIENTS }, (_, i) => `bench${i + 1}`);
const idleUsers = Array.from({ length: IDLE_MAILBOXES }, (_, i) => `idle${i + 1}`);
const phase: PhaseSettings = { users, password: CODE, clients: CLIENTS };
const now = (): number => performance.timeOrigin + performance.now();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function scryptVerifyMs(cost: ScryptCost, repeats = 7): Promise<number> {
  const hash = await hashCode(CODE, cost);
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await verifyCode(CODE, hash);
    times.push(performance.now() - t0);
  }
  return percentile(times, 50);
}

/** The same verify time on both sides: scrypt as Voicegate has it, SHA512-CRYPT rounds to match. */
async function calibrateHashes(say: (line: string) => void): Promise<Hashes> {
  say('calibrating password hashes ...');
  const pair = async (cost: ScryptCost): Promise<Hashes['sessions']> => {
    let { rounds } = calibrateRounds(await scryptVerifyMs(cost));
    // Other work on the machine changes its speed: measure both at the same moment, and correct
    // the rounds until the two are within 10% of each other (or give up and say so).
    for (let attempt = 1; ; attempt++) {
      const scryptMs = await scryptVerifyMs(cost);
      const verifyMs = sha512CryptMs(rounds, 7);
      if (Math.abs(verifyMs / scryptMs - 1) <= 0.1 || attempt === 4)
        return { scrypt: cost, scryptMs, rounds, verifyMs };
      rounds = Math.max(1000, Math.round((rounds * scryptMs) / verifyMs));
    }
  };
  const hashes = { sessions: await pair(DEFAULT_COST), idle: await pair(IDLE_COST) };
  for (const [name, h] of Object.entries(hashes))
    say(
      `  ${name}: scrypt N=${h.scrypt.N} ${h.scryptMs.toFixed(1)} ms, ` +
        `SHA512-CRYPT rounds=${h.rounds} ${h.verifyMs.toFixed(1)} ms`,
    );
  return hashes;
}

/** Every message of a user's INBOX from Voicegate, with flags and date, as Maildir wants them. */
async function exportMailbox(port: number, user: string): Promise<MaildirMessage[]> {
  const imap = await RawImap.open({ host: '127.0.0.1', port });
  try {
    await imap.command(`LOGIN ${quote(user)} ${quote(CODE)}`);
    await imap.command('SELECT INBOX');
    const reply = await imap.command('FETCH 1:* (FLAGS INTERNALDATE BODY.PEEK[])', {
      capture: true,
    });
    await imap.logout();
    return reply.untagged
      .filter((u) => / FETCH /.test(u.text))
      .map((u) => {
        const flags = /FLAGS \(([^)]*)\)/.exec(u.text)?.[1]?.split(' ').filter(Boolean) ?? [];
        const date = /INTERNALDATE "([^"]+)"/.exec(u.text)?.[1] ?? '';
        return {
          raw: Buffer.concat(u.literals),
          flags,
          internalDate: new Date(Date.parse(date.replace(/-/g, ' '))),
        };
      });
  } finally {
    imap.destroy();
  }
}

/** Dovecot's deposit: `doveadm save`; its commit is when the file shows up in the Maildir. */
function dovecotDeliver(dovecot: Dovecot, raw: Buffer): (user: string) => Promise<Deposit> {
  return async (user) => {
    const maildir = join(dovecot.home(user), 'Maildir');
    let committedAt = 0;
    const watchers = ['new', 'cur'].map((sub) =>
      watch(join(maildir, sub), (_event, name) => {
        if (!committedAt && name && !name.startsWith('.')) committedAt = now();
      }),
    );
    try {
      const startedAt = now();
      await dovecot.save(user, raw);
      await sleep(20);
      return { startedAt, committedAt: committedAt || startedAt };
    } finally {
      for (const w of watchers) w.close();
    }
  };
}

async function run(opts: BenchOptions): Promise<void> {
  const say = (line: string): void => console.log(line);
  const root = mkdtempSync(join(tmpdir(), 'voicegate-bench-imap-'));
  const undo: (() => unknown)[] = [];
  const cleanUp = async (): Promise<void> => {
    for (const step of undo.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        console.error('cleanup step failed:', err);
      }
    }
    rmSync(root, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await measureAll(opts, root, undo, say);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanUp();
  }
}

async function measureAll(
  opts: BenchOptions,
  root: string,
  undo: (() => unknown)[],
  say: (line: string) => void,
): Promise<void> {
  const installed = ensureDovecot(say);
  const audio = toneWav({ seconds: 60 });
  const wavFile = join(root, 'tone-60s.wav');
  writeFileSync(wavFile, audio);
  const hashes = await calibrateHashes(say);

  say(`preparing Voicegate: ${CLIENTS} mailboxes with ${MESSAGES_PER_MAILBOX} voicemails each ...`);
  const configFile = await prepareStore(
    mkdtempSync(join(root, 'voicegate-')),
    [
      ...users.map((name) => ({ name, code: CODE, messages: MESSAGES_PER_MAILBOX })),
      ...idleUsers.map((name) => ({ name, code: CODE, messages: 0, cost: IDLE_COST })),
    ],
    audio,
  );
  const vgPort = await freePort();
  const vgOptions = {
    logFile: join(root, 'voicegate.log'),
    loopFile: join(root, 'voicegate-loop.json'),
    // This benchmark's own switch: extra node flags for the Voicegate server process, e.g.
    // IMAP_BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' or '--max-semi-space-size=2'.
    nodeArgs: (process.env.IMAP_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
  };
  let vg = await VoicegateServer.start(configFile, vgPort, vgOptions);
  undo.push(async () => {
    await vg.stop();
    const log = readFileSync(vgOptions.logFile, 'utf8').trim();
    if (log) say(`voicegate log (last lines):\n${log.split('\n').slice(-10).join('\n')}`);
  });
  const gen = await LoadGenerator.start();
  undo.push(() => gen.stop());

  say('exporting the voicemails from Voicegate over IMAP into Maildir for Dovecot ...');
  const dovecot = new Dovecot(join(root, 'dovecot'), await freePort());
  const fullHash = sha512CryptHash(CODE, hashes.sessions.rounds);
  const cheapHash = sha512CryptHash(CODE, hashes.idle.rounds);
  dovecot.prepare([
    ...users.map((name) => ({ name, hash: fullHash })),
    ...idleUsers.map((name) => ({ name, hash: cheapHash })),
  ]);
  const exported: MaildirMessage[][] = [];
  for (const user of users) {
    const messages = await exportMailbox(vgPort, user);
    exported.push(messages);
    dovecot.writeMaildir(user, messages);
  }
  for (const user of idleUsers) dovecot.writeMaildir(user, []);
  const message = exported[0]![0]!.raw;
  const inotify = [
    raiseSysctl(INOTIFY_INSTANCES, IDLE.target * 2, undo),
    raiseSysctl(INOTIFY_WATCHES, IDLE.target * 16, undo),
  ];
  await dovecot.start();
  undo.push(() => dovecot.stop());

  const target = (port: number) => ({ host: '127.0.0.1', port, localAddresses: LOCAL_ADDRESSES });
  const servers: Server[] = [
    {
      name: 'voicegate',
      target: target(vgPort),
      cpuMs: () => vg.cpuMs(),
      memory: () => vg.memory(),
      threadCpuMs: () => vg.threadCpuMs(),
      loop: () => vg.loop(),
    },
    {
      name: 'dovecot',
      target: target(dovecot.port),
      cpuMs: () => dovecot.cpuMs(),
      memory: () => dovecot.memory(),
      authCpuMs: () => dovecot.authCpuMs(),
    },
  ];

  say(`phase 1: ${CLIENTS} clients, full sessions (warm-up, then A-B-A-B halves) ...`);
  for (const s of servers) await warmUp(gen, s, phase);
  const halves: Record<Server['name'], Half[]> = { voicegate: [], dovecot: [] };
  for (let half = 0; half < 2; half++) {
    for (const s of servers) {
      const h = await measureHalf(gen, s, phase, opts);
      halves[s.name].push(h);
      say(`  ${s.name}: ${(h.sessions / h.seconds).toFixed(1)} sessions/s (${h.sessions})`);
    }
  }

  // RSS does not come back down after phase 1's bodies: phase 2 starts a fresh server, as
  // Dovecot's hibernated sessions live in fresh processes too.
  const vgAfterSessions = vg.memory();
  await vg.stop();
  vg = await VoicegateServer.start(configFile, vgPort, vgOptions);
  const idle: IdleSettings = { ...IDLE, mailboxes: idleUsers };
  say(
    `phase 2: up to ${idle.target} IDLE sessions on ${IDLE_MAILBOXES} mailboxes, ` +
      `${idle.batch} at a time ...`,
  );
  const depositor = await startDepositor(configFile, wavFile);
  undo.push(() => depositor.stop());
  const vgIdle = await measureIdle(
    gen,
    servers[0]!,
    idle,
    { deliver: (user) => depositor.deposit(user), settle: () => voicegateSettled(vg.pid) },
    say,
  );
  await depositor.stop();
  await vg.stop();
  const dcIdle = await measureIdle(
    gen,
    servers[1]!,
    idle,
    { deliver: dovecotDeliver(dovecot, message), settle: () => hibernated(dovecot) },
    say,
  );

  const { text, markdown, json } = report({
    at: new Date().toISOString(),
    machine: machine(),
    dovecot: { ...installed, problems: dovecot.logProblems() },
    hashes,
    bounds: { ...opts, clients: CLIENTS, idleTarget: idle.target, idleBatch: idle.batch },
    messageBytes: message.length,
    wavBytes: audio.byteLength,
    messagesPerMailbox: MESSAGES_PER_MAILBOX,
    exportedBytes: exported.flat().reduce((n, m) => n + m.raw.length, 0),
    inotify,
    voicegateAfterSessions: vgAfterSessions,
    voicegateNodeArgs: vgOptions.nodeArgs,
    voicegateAllocator: serverAllocator(),
    sessions: { voicegate: mergeHalves(halves.voicegate), dovecot: mergeHalves(halves.dovecot) },
    idle: { voicegate: vgIdle, dovecot: dcIdle },
  });
  console.log(`\n${text}`);
  say(`\nwritten: ${writeResult('imap', markdown, json)}`);
}

/** Voicegate at rest: its code-hashing process ended (30 s after the last log-in), then 2 s. */
async function voicegateSettled(pid: number): Promise<void> {
  await hashingThreadsEnded(pid);
  await sleep(2000);
}
