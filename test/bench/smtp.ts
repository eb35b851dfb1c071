/**
 * Voicemail over SMTP, both ways, with `voicegate serve` as a process of its own (the outbound
 * side in smtp-outbound.ts):
 * 1. inbound: 1 MB voicemails (a 62-second WAV attached) received over SMTP and made durable
 *    per second, from 1, 4 and 8 concurrent senders (smtp-client.ts), plain and with STARTTLS, beside
 *    the foundation's deposit rate for the same audio (ctx.messages.deposit in this process, as
 *    deposit.ts) at the same concurrency: their ratio is what SMTP and MIME parsing cost;
 * 2. outbound: copies of queued voicemails (a mailbox in copy mode) sent per second to a
 *    loopback SMTP sink, and the time until the queue is empty, beside nodemailer sending the
 *    very same bytes to the same sink (the yardstick).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toneWav } from '../../server/media/tone.ts';
import {
  describeFilesystem,
  filesystemOf,
  PROJECT_DIR,
  summarize,
  type BenchOptions,
  type Benchmark,
  type Rate,
} from './bench-kit.ts';
import { gcMeter, type GcCounts } from './gc-trace.ts';
import { measureOutbound, YARDSTICK_SECONDS } from './smtp-outbound.ts';
import { report, type InboundLevel } from './smtp-report.ts';
import {
  composeVoicemail,
  depositConcurrently,
  openSenders,
  type Mail,
  type Timed,
} from './smtp-senders.ts';
import {
  addMailboxes,
  initStore,
  openContext,
  profilingArgs,
  startReception,
  startVoicegate,
  smtpServerCode,
  storedPerMailbox,
  type VoicegateStore,
} from './smtp-servers.ts';
import { loadMeter, selfCpuMs, type ServerProcess } from './web-servers.ts';

const LEVELS = [1, 4, 8] as const;
const AUDIO_SECONDS = 62;
/** Mails per SMTP level at most (with --max-ops lower, that). */
const SMTP_MAX_MAILS = 300;
const SMTP_WARM_UP = 1;
/** Untimed mails per transport before the first level, from 4 senders: the server's JIT warms up. */
const SERVER_WARM_UP_SENDERS = 4;
const SERVER_WARM_UP_MAILS = 3;
/** Direct deposits are the yardstick, and quick: a shorter budget per level. */
const DIRECT_SECONDS = 2;
const DIRECT_WARM_UP = 2;

const benchmark: Benchmark = {
  name: 'smtp',
  title: '1 MB voicemails received over SMTP (vs direct deposits) and copies sent (vs nodemailer)',
  run,
};
export default benchmark;

/** A scratch folder under os.tmpdir() if that is on the project's disk, else inside the project. */
function scratchRoot(): string {
  const sameDisk = statSync(tmpdir()).dev === statSync(PROJECT_DIR).dev;
  const parent = sameDisk ? tmpdir() : join(PROJECT_DIR, 'test', 'bench');
  return mkdtempSync(join(parent, 'voicegate-bench-smtp-'));
}

function rateOf(t: Timed, bytes: number): Rate {
  return summarize([t], bytes);
}

type Senders = ReturnType<typeof openSenders>;

interface Direct {
  ctx: Awaited<ReturnType<typeof openContext>>;
  names: string[];
  /** Deposits made so far per depositor, warm-ups included. */
  deposited: number[];
}

/** One SMTP step: `n` senders of one transport, with Voicegate's CPU and the machine's load. */
async function measureSmtp(
  server: Traced,
  senders: Senders,
  n: number,
  opts: BenchOptions,
): Promise<{
  timed: Timed;
  serverCpuMs: number;
  cores: number;
  othersCores: number;
  gc: GcCounts;
}> {
  await senders.warmUp(n, SMTP_WARM_UP);
  const cpu0 = server.process.cpuMs();
  const load = loadMeter(() => selfCpuMs() + server.process.cpuMs());
  const gc = gcMeter(server.logFile);
  const timed = await senders.run(n, {
    seconds: opts.seconds,
    maxOps: Math.min(SMTP_MAX_MAILS, opts.maxOps),
  });
  const serverCpuMs = server.process.cpuMs() - cpu0;
  const { busyCores, othersCores } = load();
  return { timed, serverCpuMs, cores: busyCores, othersCores, gc: gc() };
}

/** A server started with --trace-gc, and the log its collections are printed to. */
interface Traced {
  process: ServerProcess;
  logFile: string;
}

/** Per 100 mails, and pause ms per mail. */
function gcPerMail(gc: GcCounts, mails: number): InboundLevel['serverGc'] {
  return {
    fullPer100: (100 * gc.full) / mails,
    minorPer100: (100 * gc.minor) / mails,
    pauseMsPerMail: (gc.fullMs + gc.minorMs) / mails,
  };
}

/**
 * One concurrency level: direct deposits (half), SMTP plain, SMTP with STARTTLS, the same to
 * reception alone, direct deposits (the other half): A-B-A, so drift and other load on the
 * machine weigh on both sides.
 */
async function measureLevel(
  vg: Traced,
  senders: { plain: Senders; tls: Senders },
  rx: Traced & { plain: Senders; tls: Senders },
  direct: Direct,
  n: number,
  audio: Uint8Array,
  mailBytes: number,
  opts: BenchOptions,
): Promise<{ levels: InboundLevel[]; perSender: number[] }> {
  const directBounds = {
    seconds: Math.min(DIRECT_SECONDS, opts.seconds) / 2,
    maxOps: Math.ceil(Math.min(SMTP_MAX_MAILS, opts.maxOps) / 2),
  };
  const names = direct.names.slice(0, n);
  const directA = await depositConcurrently(direct.ctx, names, audio, directBounds, DIRECT_WARM_UP);
  directA.perWorker.forEach((k, i) => (direct.deposited[i]! += k + DIRECT_WARM_UP));
  const plain = await measureSmtp(vg, senders.plain, n, opts);
  const tls = await measureSmtp(vg, senders.tls, n, opts);
  const rxPlain = await measureSmtp(rx, rx.plain, n, opts);
  const rxTls = await measureSmtp(rx, rx.tls, n, opts);
  const directB = await depositConcurrently(direct.ctx, names, audio, directBounds, 0);
  directB.perWorker.forEach((k, i) => (direct.deposited[i]! += k));

  const directRate = summarize([directA, directB], audio.byteLength);
  const directPart = {
    direct: directRate,
    directCpuMsPerDeposit: (directA.cpuMs + directB.cpuMs) / directRate.ops,
    directBusy:
      (directA.eventLoopUtilization * directA.seconds +
        directB.eventLoopUtilization * directB.seconds) /
      (directA.seconds + directB.seconds),
  };
  const levels = [plain, tls].map((m, k): InboundLevel => {
    const smtp = rateOf(m.timed, mailBytes);
    const alone = [rxPlain, rxTls][k]!;
    const reception = rateOf(alone.timed, mailBytes);
    return {
      senders: n,
      tls: k === 1,
      smtp,
      serverCpuMsPerMail: m.serverCpuMs / m.timed.ops,
      serverCores: m.serverCpuMs / 1000 / m.timed.seconds,
      clientCpuMsPerMail: m.timed.cpuMs / m.timed.ops,
      clientBusy: m.timed.eventLoopUtilization,
      machineCores: m.cores,
      othersCores: m.othersCores,
      ...directPart,
      ratio: smtp.opsPerSecond / directRate.opsPerSecond,
      reception,
      receptionCpuMsPerMail: alone.serverCpuMs / alone.timed.ops,
      serverGc: gcPerMail(m.gc, m.timed.ops),
      receptionGc: gcPerMail(alone.gc, alone.timed.ops),
      receptionCores: alone.serverCpuMs / 1000 / alone.timed.seconds,
      ceiling: reception.opsPerSecond / (reception.opsPerSecond + directRate.opsPerSecond),
      cpuCeiling:
        directPart.directCpuMsPerDeposit /
        (alone.serverCpuMs / alone.timed.ops + directPart.directCpuMsPerDeposit),
    };
  });
  for (const l of levels) {
    console.log(
      `  ${l.tls ? 'STARTTLS' : 'plain'}, ${n} sender(s): ${l.smtp.ops} mails, ` +
        `${l.smtp.opsPerSecond.toFixed(1)} mails/s (p50 ${l.smtp.p50Ms.toFixed(0)} ms), ` +
        `direct ${directRate.opsPerSecond.toFixed(1)} deposits/s, ratio ${l.ratio.toFixed(2)}; ` +
        `reception alone ${l.reception.opsPerSecond.toFixed(1)} mails/s, ceiling ${l.ceiling.toFixed(2)}`,
    );
  }
  const perSender = plain.timed.perWorker.map(
    (k, i) => k + tls.timed.perWorker[i]! + 2 * SMTP_WARM_UP,
  );
  return { levels, perSender };
}

async function measureInbound(
  root: string,
  audio: Uint8Array,
  opts: BenchOptions,
  started: ServerProcess[],
): Promise<{
  levels: InboundLevel[];
  mailBytes: number;
  stored: { expected: number; found: number; audioIdentical: boolean };
}> {
  const max = Math.max(...LEVELS);
  const store = await initStore(join(root, 'inbound'));
  const boxes = Array.from({ length: max }, (_, i) => ({
    name: `bench${i + 1}`,
    extension: String(201 + i),
  }));
  await addMailboxes(store, boxes);
  const directStore = await initStore(join(root, 'direct'));
  const directNames = Array.from({ length: max }, (_, i) => `direct${i + 1}`);
  await addMailboxes(
    directStore,
    directNames.map((name, i) => ({ name, extension: String(201 + i) })),
  );
  const mails: Mail[] = await Promise.all(
    boxes.map((b, i) => composeVoicemail(`${b.extension}@${store.domain}`, `+1555010${i}`, audio)),
  );
  const mailBytes = mails[0]!.raw.length;

  const vgLog = join(root, 'voicegate-inbound.log');
  const vgProcess = await startVoicegate(store, {
    logFile: vgLog,
    nodeArgs: ['--trace-gc', ...profilingArgs('voicegate-inbound')],
  });
  started.push(vgProcess);
  const vg: Traced = { process: vgProcess, logFile: vgLog };
  const rxLog = join(root, 'reception.log');
  const rxProcess = await startReception(store, rxLog, [
    '--trace-gc',
    ...profilingArgs('reception'),
  ]);
  started.push(rxProcess);
  const ca = readFileSync(store.certFile);
  const sent = new Array<number>(max).fill(0);
  const levels: InboundLevel[] = [];
  const direct: Direct = {
    ctx: await openContext(directStore),
    names: directNames,
    deposited: new Array<number>(max).fill(0),
  };
  const senders = {
    plain: openSenders({ port: vgProcess.port, tls: false }, mails),
    tls: openSenders({ port: vgProcess.port, tls: true, ca }, mails),
  };
  const rx = {
    process: rxProcess,
    logFile: rxLog,
    plain: openSenders({ port: rxProcess.port, tls: false }, mails),
    tls: openSenders({ port: rxProcess.port, tls: true, ca }, mails),
  };
  try {
    for (const transport of [rx.plain, rx.tls]) {
      await transport.warmUp(SERVER_WARM_UP_SENDERS, SERVER_WARM_UP_MAILS);
    }
    for (const transport of [senders.plain, senders.tls]) {
      await transport.warmUp(SERVER_WARM_UP_SENDERS, SERVER_WARM_UP_MAILS);
      for (let i = 0; i < SERVER_WARM_UP_SENDERS; i++) sent[i]! += SERVER_WARM_UP_MAILS;
    }
    for (const n of LEVELS) {
      const level = await measureLevel(vg, senders, rx, direct, n, audio, mailBytes, opts);
      levels.push(...level.levels);
      level.perSender.forEach((k, i) => (sent[i]! += k));
    }
  } finally {
    for (const s of [senders.plain, senders.tls, rx.plain, rx.tls]) s.close();
    await direct.ctx.close();
  }
  for (const p of [vgProcess, rxProcess]) {
    await p.stop();
    started.splice(started.indexOf(p), 1);
  }

  // Every 250 is a message in the store, in the right mailbox, with the audio as sent.
  const check = (s: VoicegateStore, names: string[], counts: number[], what: string): number => {
    const found = storedPerMailbox(s);
    names.forEach((name, i) => {
      if (found.get(name) !== counts[i])
        throw new Error(`${name}: ${counts[i]} ${what}, ${found.get(name)} stored`);
    });
    return [...found.values()].reduce((a, b) => a + b, 0);
  };
  const found = check(
    store,
    boxes.map((b) => b.name),
    sent,
    'mails accepted',
  );
  check(directStore, directNames, direct.deposited, 'deposits');
  const ctx = await openContext(store);
  let audioIdentical: boolean;
  try {
    const box = await ctx.mailboxes.resolve(boxes[0]!.name);
    const [first] = await ctx.messages.list(box.id, 'inbox');
    audioIdentical = Buffer.from(audio).equals(await ctx.audio.read(first!.audio.key));
  } finally {
    await ctx.close();
  }
  const expected = sent.reduce((a, b) => a + b, 0);
  return { levels, mailBytes, stored: { expected, found, audioIdentical } };
}

async function run(opts: BenchOptions): Promise<void> {
  const root = scratchRoot();
  const started: ServerProcess[] = [];
  try {
    const scratch = `${root} is ${describeFilesystem(filesystemOf(root))}`;
    console.log(`scratch: ${scratch}`);
    const audio = toneWav({ seconds: AUDIO_SECONDS });
    const inbound = await measureInbound(root, audio, opts, started);

    const outbound = await measureOutbound(root, audio, opts, started);

    report({
      opts,
      scratch,
      smtpServer: smtpServerCode(),
      audioBytes: audio.byteLength,
      inboundMailBytes: inbound.mailBytes,
      bounds: {
        smtpSeconds: opts.seconds,
        smtpMaxMails: Math.min(SMTP_MAX_MAILS, opts.maxOps),
        smtpWarmUpPerSender: SMTP_WARM_UP,
        serverWarmUpMails: 2 * SERVER_WARM_UP_SENDERS * SERVER_WARM_UP_MAILS,
        directSeconds: Math.min(DIRECT_SECONDS, opts.seconds),
        directMaxDeposits: 2 * Math.ceil(Math.min(SMTP_MAX_MAILS, opts.maxOps) / 2),
        directWarmUpPerDepositor: DIRECT_WARM_UP,
        outboundQueued: outbound.queued,
        yardstickSeconds: YARDSTICK_SECONDS,
      },
      inbound: inbound.levels,
      stored: inbound.stored,
      outbound: outbound.runs,
    });
  } finally {
    for (const server of started) await server.stop().catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
}
