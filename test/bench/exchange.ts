/**
 * Voicemail delivered into Exchange Online: voicemails deposited into a mailbox at home in
 * Exchange, created as items in the Graph test server per second, and the delay from deposit to
 * item; beside the same voicemails e-mailed (a mailbox in copy mode) to a loopback SMTP sink in
 * the same run (the yardstick). Both go through the one delivery queue, each target at its
 * configured concurrency (graph 4, smtp 2 by default: the same for both here, 4).
 */
import { performance } from 'node:perf_hooks';
import { toneWav } from '../../server/media/tone.ts';
import { startTestServer } from '../helpers/test-server.ts';
import { SmtpRecorder } from '../mail/smtp-recorder.ts';
import { GraphServer } from '../support/graph-server.ts';
import { percentile, type BenchOptions, type Benchmark } from './bench-kit.ts';

const ALICE = 'alice@contoso.example';
const CONCURRENCY = 4;

const benchmark: Benchmark = {
  name: 'exchange',
  title: 'voicemails delivered into Exchange (Graph test server) per second, vs SMTP copies',
  run,
};
export default benchmark;

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function run(opts: BenchOptions): Promise<void> {
  const n = Math.min(opts.maxOps, 200);
  const graph = await GraphServer.start({ users: [ALICE] });
  const smtp = await SmtpRecorder.start({ tls: 'none' });
  const vg = await startTestServer([
    `exchange.connections=${JSON.stringify([graph.connection()])}`,
    'exchange.syncSeconds=3600',
    `delivery.targets.graph.concurrency=${CONCURRENCY}`,
    `delivery.targets.smtp.concurrency=${CONCURRENCY}`,
    `mail.servers=${JSON.stringify([{ host: '127.0.0.1', port: smtp.port, tls: 'opportunistic' }])}`,
  ]);
  try {
    const { mailboxes, homes, messages } = vg.context;
    await mailboxes.add({ name: 'ex', extension: '201' }, '1234');
    await homes.setHome('ex', { home: 'exchange', exchangeAddress: ALICE });
    await mailboxes.add(
      { name: 'mail', extension: '202', email: 'mail@sink.example', emailMode: 'copy' },
      '1234',
    );
    const audio = toneWav({ seconds: 20 });
    // Warm-up: one of each, untimed.
    await messages.deposit({ mailbox: 'ex', audio });
    await messages.deposit({ mailbox: 'mail', audio });
    await waitFor(
      () => graph.messages(ALICE).length === 1 && smtp.mails.length === 1,
      30_000,
      'warm-up',
    );

    const results: { target: string; perSecond: number; p50: number; p95: number }[] = [];
    for (const [target, mailbox, count] of [
      ['graph', 'ex', () => graph.messages(ALICE).length - 1],
      ['smtp', 'mail', () => smtp.mails.length - 1],
      ['graph', 'ex', () => graph.messages(ALICE).length - 1 - n],
      ['smtp', 'mail', () => smtp.mails.length - 1 - n],
    ] as const) {
      const deposited: number[] = [];
      const arrived: number[] = [];
      const t0 = performance.now();
      const watcher = setInterval(() => {
        while (arrived.length < count()) arrived.push(performance.now());
      }, 2);
      for (let i = 0; i < n; i++) {
        deposited.push(performance.now());
        await messages.deposit({ mailbox, audio });
      }
      await waitFor(() => count() >= n, 120_000, `${n} ${target} deliveries`);
      clearInterval(watcher);
      while (arrived.length < n) arrived.push(performance.now());
      const seconds = (arrived.at(-1)! - t0) / 1000;
      const delays = arrived.map((a, i) => a - deposited[i]!);
      results.push({
        target,
        perSecond: n / seconds,
        p50: percentile(delays, 50),
        p95: percentile(delays, 95),
      });
    }
    const rate = (t: string) => {
      const r = results.filter((x) => x.target === t);
      return r.reduce((s, x) => s + x.perSecond, 0) / r.length;
    };
    for (const r of results)
      console.log(
        `${r.target.padEnd(5)} ${n} voicemails: ${r.perSecond.toFixed(1)}/s, deposit to delivered p50 ${r.p50.toFixed(0)} ms, p95 ${r.p95.toFixed(0)} ms`,
      );
    console.log(
      `graph / smtp: ${(rate('graph') / rate('smtp')).toFixed(2)} (graph ${rate('graph').toFixed(1)}/s, smtp ${rate('smtp').toFixed(1)}/s, ${CONCURRENCY} under way each, WAV ${audio.byteLength} bytes)`,
    );
  } finally {
    await vg.stop();
    await smtp.close();
    await graph.close();
  }
}
