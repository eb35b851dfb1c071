/**
 * The smtp benchmark's figures: their types, the tables (terminal and Markdown) and
 * results/smtp.md.
 */
import { cpus, loadavg } from 'node:os';
import {
  fixed,
  machine,
  markdownTable,
  textTable,
  writeResult,
  type BenchOptions,
  type Rate,
  type Table,
} from './bench-kit.ts';

export interface InboundLevel {
  senders: number;
  tls: boolean;
  /** Mails whose 250 arrived; MB/s counts the mail as sent (base64 and all). */
  smtp: Rate;
  /** Voicegate's CPU (all threads, from /proc) per mail. */
  serverCpuMsPerMail: number;
  /** Voicegate's CPU over the step's wall time: near 1, its main thread is the limit. */
  serverCores: number;
  /** The senders' CPU (this process) per mail, and how busy its main thread was. */
  clientCpuMsPerMail: number;
  clientBusy: number;
  /** CPU cores the whole machine had busy, on average, while the senders ran. */
  machineCores: number;
  /** Of those, cores not used by the benchmark's process or Voicegate: other work on the machine. */
  othersCores: number;
  /**
   * ctx.messages.deposit of the same audio in this process, same concurrency: one half before
   * the plain and STARTTLS steps of the level, one after (both rows share it).
   */
  direct: Rate;
  directCpuMsPerDeposit: number;
  directBusy: number;
  /** SMTP mails/s ÷ direct deposits/s. */
  ratio: number;
  /** The same senders and mails to SMTP reception alone (smtp-reception.ts), right after. */
  reception: Rate;
  receptionCpuMsPerMail: number;
  receptionCores: number;
  /**
   * The ratio if a mail cost reception alone's time and then a direct deposit's, one after the
   * other on the same machine: X / (X + Y) for X mails/s received and Y deposits/s.
   */
  ceiling: number;
  /**
   * The same from CPU per mail, steadier on a busy machine: direct CPU per deposit ÷ (reception
   * alone's CPU per mail + direct CPU per deposit).
   */
  cpuCeiling: number;
  /** Collections (`--trace-gc`) in Voicegate and in reception alone, per mail. */
  serverGc: { fullPer100: number; minorPer100: number; pauseMsPerMail: number };
  receptionGc: { fullPer100: number; minorPer100: number; pauseMsPerMail: number };
}

export interface Sending {
  label: string;
  /** Mails; seconds from the first connection to the end of the last mail. */
  rate: Rate;
  /** The sender's CPU per mail (Voicegate's from /proc; the yardstick's is this process's). */
  senderCpuMsPerMail: number;
  sinkCpuMsPerMail: number;
}

export interface OutboundRun {
  tls: boolean;
  queued: number;
  /** Mean size of one copy as the sink received it. */
  mailBytes: number;
  /** From spawning `voicegate serve` until its SMTP port answered. */
  startSeconds: number;
  /** From the port answering until the sink saw the first connection. */
  firstAttemptSeconds: number;
  /** From the port answering until no mail was pending any more. */
  queueEmptySeconds: number;
  /** Cores busy with other work on the machine while the queue drained. */
  othersCores: number;
  /** Latencies: the gaps between the ends of consecutive copies (one is sent at a time). */
  voicegate: Sending;
  /** The same bytes from nodemailer in this process: a connection per mail, then one kept. */
  yardstickNew: Sending;
  yardstickPooled: Sending;
  /** Voicegate copies/s ÷ the yardstick's with a connection per mail (Voicegate's way). */
  ratio: number;
}

export interface Results {
  opts: BenchOptions;
  scratch: string;
  /** The smtp-server package and patch both inbound servers run. */
  smtpServer: string;
  audioBytes: number;
  inboundMailBytes: number;
  bounds: {
    smtpSeconds: number;
    smtpMaxMails: number;
    smtpWarmUpPerSender: number;
    /** Untimed mails (plain and STARTTLS) before the first level. */
    serverWarmUpMails: number;
    directSeconds: number;
    directMaxDeposits: number;
    directWarmUpPerDepositor: number;
    outboundQueued: number;
    yardstickSeconds: number;
  };
  inbound: InboundLevel[];
  stored: { expected: number; found: number; audioIdentical: boolean };
  outbound: OutboundRun[];
}

const pct = (share: number): string => `${Math.round(share * 100)}%`;

/** More than this many cores used by others during a step is worth a warning. */
const OTHERS_NOISY_CORES = 0.2;

function machineNote(r: Results): string {
  const others = [...r.inbound.map((l) => l.othersCores), ...r.outbound.map((o) => o.othersCores)];
  const noisy = others.some((c) => c > OTHERS_NOISY_CORES);
  return (
    `Machine: ${cpus().length} CPUs, shared by the senders, Voicegate, the sink and the disk's ` +
    `fsyncs ("machine cores busy"); other processes used up to ${fixed(Math.max(...others), 2)} ` +
    `cores during a step, load average ${fixed(loadavg()[0]!, 1)} at the end.` +
    (noisy
      ? ' Other processes were busy during the run: rates are lower and p99 higher than on a ' +
        'quiet machine; CPU ms per mail is the steadier figure.'
      : '')
  );
}

function inboundTable(levels: InboundLevel[]): Table {
  return {
    head: [
      'transport',
      'senders',
      'mails',
      'mails/s',
      'MB/s',
      'p50 ms',
      'p99 ms',
      'direct deposits/s',
      'direct p50/p99 ms',
      'ratio',
      'reception alone mails/s',
      'ceiling',
    ],
    rows: levels.map((l) => [
      l.tls ? 'STARTTLS' : 'plain',
      String(l.senders),
      String(l.smtp.ops),
      fixed(l.smtp.opsPerSecond),
      fixed(l.smtp.mbPerSecond),
      fixed(l.smtp.p50Ms),
      fixed(l.smtp.p99Ms),
      fixed(l.direct.opsPerSecond),
      `${fixed(l.direct.p50Ms)}/${fixed(l.direct.p99Ms)}`,
      fixed(l.ratio, 2),
      fixed(l.reception.opsPerSecond),
      fixed(l.ceiling, 2),
    ]),
  };
}

function cpuTable(levels: InboundLevel[]): Table {
  return {
    head: [
      'transport',
      'senders',
      'VG CPU ms/mail',
      'VG cores',
      'senders CPU ms/mail',
      'senders main thread',
      'machine cores busy',
      'by others',
      'direct CPU ms/deposit',
      'direct main thread',
      'reception CPU ms/mail',
      'reception cores',
      'CPU ceiling',
      'VG full/minor GCs per 100 mails',
      'VG GC pauses ms/mail',
      'reception full/minor GCs per 100',
    ],
    rows: levels.map((l) => [
      l.tls ? 'STARTTLS' : 'plain',
      String(l.senders),
      fixed(l.serverCpuMsPerMail),
      fixed(l.serverCores, 2),
      fixed(l.clientCpuMsPerMail),
      pct(l.clientBusy),
      fixed(l.machineCores, 2),
      fixed(l.othersCores, 2),
      fixed(l.directCpuMsPerDeposit),
      pct(l.directBusy),
      fixed(l.receptionCpuMsPerMail),
      fixed(l.receptionCores, 2),
      fixed(l.cpuCeiling, 2),
      `${fixed(l.serverGc.fullPer100)}/${fixed(l.serverGc.minorPer100)}`,
      fixed(l.serverGc.pauseMsPerMail),
      `${fixed(l.receptionGc.fullPer100)}/${fixed(l.receptionGc.minorPer100)}`,
    ]),
  };
}

function outboundTable(runs: OutboundRun[]): Table {
  const rows: string[][] = [];
  for (const r of runs) {
    for (const s of [r.voicegate, r.yardstickNew, r.yardstickPooled]) {
      rows.push([
        r.tls ? 'STARTTLS' : 'plain',
        s.label,
        String(s.rate.ops),
        fixed(s.rate.seconds, 2),
        fixed(s.rate.opsPerSecond),
        fixed(s.rate.mbPerSecond),
        `${fixed(s.rate.p50Ms)}/${fixed(s.rate.p99Ms)}`,
        fixed(s.senderCpuMsPerMail),
        fixed(s.sinkCpuMsPerMail),
        s === r.voicegate ? fixed(r.ratio, 2) : '',
      ]);
    }
  }
  return {
    head: [
      'transport',
      'sender',
      'mails',
      'seconds',
      'mails/s',
      'MB/s',
      'p50/p99 ms',
      'sender CPU ms/mail',
      'sink CPU ms/mail',
      'ratio',
    ],
    rows,
  };
}

function queueTable(runs: OutboundRun[]): Table {
  return {
    head: [
      'transport',
      'queued',
      'copy bytes',
      'serve start s',
      'listening → first attempt s',
      'listening → queue empty s',
      'cores busy by others',
    ],
    rows: runs.map((r) => [
      r.tls ? 'STARTTLS' : 'plain',
      String(r.queued),
      String(Math.round(r.mailBytes)),
      fixed(r.startSeconds, 2),
      fixed(r.firstAttemptSeconds, 2),
      fixed(r.queueEmptySeconds, 2),
      fixed(r.othersCores, 2),
    ]),
  };
}

function notes(r: Results): string[] {
  const b = r.bounds;
  return [
    `Scratch folder: ${r.scratch}.`,
    `Voicemail: toneWav 62 s, 8 kHz 16-bit mono, ${r.audioBytes} bytes of WAV; as mail (text part + ` +
      `base64 attachment, composed once by nodemailer) ${r.inboundMailBytes} bytes. MB = 10^6 bytes ` +
      'of mail as sent.',
    `Inbound: \`voicegate serve\` in its own process (log.level=warn), a store from \`voicegate init\` ` +
      'with its audio fan-out folders made beforehand; sender i is one kept-open connection of a ' +
      "minimal SMTP client in the benchmark's process (smtp-client.ts: EHLO, STARTTLS where " +
      'asked, MAIL, RCPT, DATA, each reply awaited and checked) writing the mail as composed ' +
      'once, already dot-stuffed, with a Message-ID of its own, to its own mailbox (201@, 202@ ' +
      "... of server.domain); nodemailer's per-byte work on each mail took 17 to 29 ms of CPU " +
      `on the same two cores as the server. Per level and transport ${b.smtpSeconds} s or ${b.smtpMaxMails} mails, ` +
      `whichever first, after ${b.smtpWarmUpPerSender} untimed mail(s) per sender (and ` +
      `${b.serverWarmUpMails} before the first level). Levels run plain then STARTTLS. ` +
      'A mail counts when its 250 has arrived, which Voicegate sends ' +
      'only once the deposit is durable; p50/p99 are per mail, DATA included. STARTTLS: the ' +
      "senders require it and trust Voicegate's self-signed certificate.",
    `Stored: ${r.stored.found} messages found in the store after the server stopped, ` +
      `${r.stored.expected} expected (warm-ups included); stored audio identical to the WAV sent: ` +
      `${r.stored.audioIdentical ? 'yes' : 'NO'}.`,
    'direct = ctx.messages.deposit() of the same WAV in the benchmark process (as deposit.ts), one ' +
      `mailbox per depositor, ${b.directSeconds} s or ${b.directMaxDeposits} deposits per level ` +
      `after ${b.directWarmUpPerDepositor} untimed each, split in halves run before and after the ` +
      "level's two SMTP steps (A-B-A; plain and STARTTLS share it). ratio = SMTP mails/s ÷ " +
      'direct deposits/s: what SMTP, DATA and MIME ' +
      'parsing cost on top of the deposit.',
    'reception alone = the same senders and mails, right after, to smtp-server in a process of ' +
      'its own that drops each mail at the end of its DATA (smtp-reception.ts: the same package ' +
      'and patch, the node flags and environment of `voicegate serve`). Both run ' +
      `${r.smtpServer}, whose DATA reader finds line-start dots with native searches ` +
      '(server/smtp-in/README.md): a faster reader speeds both sides. ceiling = X / (X + Y) for ' +
      'X mails/s received alone and Y direct deposits/s: the ratio if each mail took reception ' +
      "alone's time and then a deposit's on the same machine, what SMTP reception bounds the " +
      'ratio to. CPU ceiling: the same from CPU ms per mail and per deposit, ' +
      'direct ÷ (reception + direct), which other work on the machine skews less. Both servers ' +
      'run with --trace-gc: the collections each printed during a step (full = mark-compact of ' +
      'the whole heap; pauses of the main thread, full and minor, without incremental marking).',
    machineNote(r),
    `Outbound: ${b.outboundQueued} voicemails (STARTTLS: half as many) deposited in-process into a mailbox in copy mode ` +
      'before the server starts (so all are queued), then `voicegate serve` with mail.servers ' +
      'pointing at the loopback sink (smtp-server in a process of its own, accepting everything, ' +
      "keeping nothing, greeting at once: smtp-server's own 100 ms pause before the greeting is " +
      'patched out, see smtp-sink.ts). The sink offers no TLS in the plain run (tls: opportunistic then sends ' +
      "in the clear), STARTTLS with Voicegate's certificate (caFile) in the other. Voicegate's " +
      'rate is over the window from the first connection to the end of the last copy; its p50/p99 ' +
      'are the gaps between consecutive copies (it sends one at a time). queue empty: no mail ' +
      'pending in the store (polled every 20 ms).',
    'Yardstick: the first copy the sink received, byte for byte, sent again by nodemailer in the ' +
      `benchmark's process, one at a time, ${b.outboundQueued} mails or ${b.yardstickSeconds} s: ` +
      "with a new connection per mail (as Voicegate's outbox does), and over one kept-open " +
      'connection. ratio = Voicegate copies/s ÷ yardstick (new connection) mails/s.',
  ];
}

export function report(r: Results): void {
  const lines = notes(r);
  console.log(
    [
      '',
      'Inbound: voicemails received over SMTP and made durable, beside direct deposits',
      textTable(inboundTable(r.inbound)),
      '',
      'Where the CPU goes (inbound)',
      textTable(cpuTable(r.inbound)),
      '',
      'Outbound: copies sent to a loopback SMTP sink, beside nodemailer alone',
      textTable(outboundTable(r.outbound)),
      '',
      textTable(queueTable(r.outbound)),
      '',
      ...lines.map((l) => `- ${l}`),
    ].join('\n'),
  );
  const m = machine();
  const markdown = [
    '# SMTP benchmark',
    '',
    `${new Date().toISOString()}; Node ${m.node}, Linux ${m.kernel}, ${m.cpus}, ${m.memoryGiB} GiB; ` +
      '`npm run bench -- smtp` (test/bench/smtp.ts).',
    '',
    '## Inbound: voicemails received over SMTP and made durable, beside direct deposits',
    '',
    markdownTable(inboundTable(r.inbound)),
    '',
    'Where the CPU goes:',
    '',
    markdownTable(cpuTable(r.inbound)),
    '',
    '## Outbound: copies sent to a loopback SMTP sink, beside nodemailer alone',
    '',
    markdownTable(outboundTable(r.outbound)),
    '',
    markdownTable(queueTable(r.outbound)),
    '',
    ...lines.map((l) => `- ${l}`),
  ].join('\n');
  const file = writeResult('smtp', markdown, {
    benchmark: 'smtp',
    at: new Date().toISOString(),
    machine: m,
    ...r,
  });
  console.log(`\nwritten: ${file}`);
}
