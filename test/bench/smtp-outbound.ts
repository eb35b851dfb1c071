/**
 * The smtp benchmark's outbound side: copies of queued voicemails (a mailbox in copy mode) sent
 * per second to a loopback SMTP sink, and the time until the queue is empty, beside nodemailer
 * sending the very same bytes to the same sink (the yardstick).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { sleep, summarize, type BenchOptions } from './bench-kit.ts';
import type { OutboundRun, Sending } from './smtp-report.ts';
import { sendSequentially, type Mail } from './smtp-senders.ts';
import {
  addMailboxes,
  initStore,
  openContext,
  profilingArgs,
  QueueWatch,
  Sink,
  startVoicegate,
  type VoicegateStore,
} from './smtp-servers.ts';
import { loadMeter, selfCpuMs, type ServerProcess } from './web-servers.ts';

const OUTBOUND_QUEUED = 200;
export const YARDSTICK_SECONDS = 10;
const DRAIN_TIMEOUT_MS = 90_000;
const QUEUE_POLL_MS = 20;
const COPY_MAILBOX = 'copy';
const COPY_ADDRESS = 'voicemail@sink.bench.example';

/** ms since the epoch, as the sink writes its times. */
const epochMs = (): number => performance.timeOrigin + performance.now();

/** Queues `count` copies: deposits into the copy-mode mailbox while no server runs. */
async function queueCopies(store: VoicegateStore, count: number, audio: Uint8Array): Promise<void> {
  const ctx = await openContext(store);
  try {
    for (let i = 0; i < count; i++) {
      await ctx.messages.deposit({
        mailbox: COPY_MAILBOX,
        audio,
        callerNumber: `+1555020${String(i).padStart(4, '0')}`,
        callerName: 'Bench',
      });
    }
  } finally {
    await ctx.close();
  }
}

async function yardstick(
  sink: Sink,
  mail: Mail,
  ca: Buffer,
  count: number,
  connection: 'new' | 'pooled',
): Promise<Sending> {
  const sinkCpu0 = sink.process.cpuMs();
  const t = await sendSequentially(
    { port: sink.port, tls: sink.tls, ca },
    mail,
    { seconds: YARDSTICK_SECONDS, maxOps: count },
    connection,
  );
  return {
    label: connection === 'new' ? 'nodemailer, connection per mail' : 'nodemailer, one connection',
    rate: summarize([t], mail.raw.length),
    senderCpuMsPerMail: t.cpuMs / t.ops,
    sinkCpuMsPerMail: (sink.process.cpuMs() - sinkCpu0) / t.ops,
  };
}

/** Queue, start the server, time the drain; then the yardstick on the same sink. */
async function measureCopies(
  root: string,
  store: VoicegateStore,
  tls: boolean,
  queued: number,
  audio: Uint8Array,
  started: ServerProcess[],
): Promise<OutboundRun> {
  const scheme = tls ? 'starttls' : 'plain';
  await queueCopies(store, queued, audio);
  const sink = await Sink.start(
    root,
    `sink-${scheme}`,
    tls ? { certFile: store.certFile, keyFile: store.keyFile } : undefined,
  );
  started.push(sink.process);
  try {
    const mark = sink.mark();
    const servers =
      `mail.servers=[{host: 127.0.0.1, port: ${sink.port}, tls: opportunistic` +
      `${tls ? `, caFile: ${store.certFile}` : ''}}]`;
    const t0 = epochMs();
    const vg = await startVoicegate(store, {
      sets: [servers],
      logFile: join(root, `voicegate-outbound-${scheme}.log`),
      nodeArgs: profilingArgs(`voicegate-outbound-${scheme}`),
    });
    started.push(vg);
    const listening = epochMs();
    const cpu0 = vg.cpuMs();
    const sinkCpu0 = sink.process.cpuMs();
    const load = loadMeter(() => selfCpuMs() + vg.cpuMs() + sink.process.cpuMs());
    const watch = new QueueWatch(store);
    let counts = watch.counts();
    try {
      while (counts.pending > 0 && epochMs() - listening < DRAIN_TIMEOUT_MS) {
        await sleep(QUEUE_POLL_MS);
        counts = watch.counts();
      }
    } finally {
      watch.close();
    }
    const empty = epochMs();
    const { othersCores } = load();
    const serverCpuMs = vg.cpuMs() - cpu0;
    const sinkCpuMs = sink.process.cpuMs() - sinkCpu0;
    await vg.stop();
    started.splice(started.indexOf(vg), 1);
    if (counts.pending > 0 || counts.failed > 0) {
      throw new Error(
        `outbound queue: ${counts.pending} pending, ${counts.failed} failed after ` +
          `${((empty - listening) / 1000).toFixed(1)} s${vg.logTail()}`,
      );
    }

    const records = sink.records(mark).sort((a, b) => a.at - b.at);
    if (records.length !== queued || records.some((r) => r.secure !== tls))
      throw new Error(`the sink received ${records.length} copies of ${queued} (TLS ${tls})`);
    const firstConnect = Math.min(...records.map((r) => r.connectedAt));
    const gaps = records.map((r, i) => r.at - (i === 0 ? firstConnect : records[i - 1]!.at));
    const seconds = (records.at(-1)!.at - firstConnect) / 1000;
    const mailBytes = records.reduce((sum, r) => sum + r.bytes, 0) / records.length;
    const voicegate: Sending = {
      label: 'Voicegate outbox',
      rate: summarize([{ ops: queued, seconds, latenciesMs: gaps }], mailBytes),
      senderCpuMsPerMail: serverCpuMs / queued,
      sinkCpuMsPerMail: sinkCpuMs / queued,
    };

    const mail: Mail = { from: records[0]!.from, to: COPY_ADDRESS, raw: sink.captured() };
    const ca = readFileSync(store.certFile);
    const yardstickNew = await yardstick(sink, mail, ca, queued, 'new');
    const yardstickPooled = await yardstick(sink, mail, ca, queued, 'pooled');
    const run: OutboundRun = {
      tls,
      queued,
      mailBytes,
      startSeconds: (listening - t0) / 1000,
      firstAttemptSeconds: (firstConnect - listening) / 1000,
      queueEmptySeconds: (empty - listening) / 1000,
      othersCores,
      voicegate,
      yardstickNew,
      yardstickPooled,
      ratio: voicegate.rate.opsPerSecond / yardstickNew.rate.opsPerSecond,
    };
    console.log(
      `  outbound ${scheme}: ${queued} copies, ${voicegate.rate.opsPerSecond.toFixed(1)}/s, ` +
        `queue empty after ${run.queueEmptySeconds.toFixed(2)} s; nodemailer ` +
        `${yardstickNew.rate.opsPerSecond.toFixed(1)}/s (connection per mail), ` +
        `${yardstickPooled.rate.opsPerSecond.toFixed(1)}/s (one connection)`,
    );
    return run;
  } finally {
    await sink.process.stop();
    started.splice(started.indexOf(sink.process), 1);
  }
}

/**
 * Both transports on one store: plain, then STARTTLS with half as many (what it adds shows as
 * well, and the run stays short).
 */
export async function measureOutbound(
  root: string,
  audio: Uint8Array,
  opts: BenchOptions,
  started: ServerProcess[],
): Promise<{ queued: number; runs: OutboundRun[] }> {
  const queued = Math.min(OUTBOUND_QUEUED, opts.maxOps);
  const store = await initStore(join(root, 'outbound'));
  await addMailboxes(store, [{ name: COPY_MAILBOX, extension: '300', email: COPY_ADDRESS }]);
  const runs: OutboundRun[] = [];
  for (const tls of [false, true]) {
    const count = tls ? Math.ceil(queued / 2) : queued;
    runs.push(await measureCopies(root, store, tls, count, audio, started));
  }
  return { queued, runs };
}
