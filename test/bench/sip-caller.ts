/**
 * The sip benchmark's load generator: `node sip-caller.ts`, a process of its own answering over
 * IPC:
 * - `calls` (a CallPlan): places the calls (sip-calls.ts) and returns every call's result, the
 *   receive-side jitter of what they heard, and this process's CPU;
 * - `sink-open` / `sink-close`: for the yardstick, `n` RTP sockets that only listen, then the
 *   same receive-side jitter of what reached them.
 */
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { runCalls, type CallPlan } from './sip-calls.ts';
import { cpuMsSince, Lateness, RtpReceiver, serveRequests } from './sip-kit.ts';

let sink: { sockets: Socket[]; receivers: RtpReceiver[] } | null = null;

async function openSink(n: number): Promise<number[]> {
  const sockets: Socket[] = [];
  const receivers: RtpReceiver[] = [];
  for (let i = 0; i < n; i++) {
    const socket = createSocket('udp4');
    const receiver = new RtpReceiver();
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    socket.on('message', (msg) => receiver.push(msg, performance.now()));
    sockets.push(socket);
    receivers.push(receiver);
  }
  sink = { sockets, receivers };
  return sockets.map((s) => s.address().port);
}

function closeSink(): Record<string, unknown> {
  const lateness = new Lateness();
  let packets = 0;
  let lost = 0;
  for (const r of sink?.receivers ?? []) {
    packets += r.packets;
    lost += r.lost;
    r.finish(lateness);
  }
  for (const s of sink?.sockets ?? []) s.close();
  sink = null;
  return { receive: lateness.stats(), packets, lost };
}

let since = { cpu: process.cpuUsage(), wall: performance.now() };

serveRequests(async (m) => {
  switch (m.cmd) {
    case 'calls': {
      const cpu = process.cpuUsage();
      const elu = performance.eventLoopUtilization();
      const report = await runCalls(m.plan as CallPlan);
      return {
        report,
        cpuMs: cpuMsSince(cpu),
        eventLoopUtilization: performance.eventLoopUtilization(elu).utilization,
      };
    }
    case 'sink-open':
      since = { cpu: process.cpuUsage(), wall: performance.now() };
      return { ports: await openSink(Number(m.n)) };
    case 'sink-close':
      return { ...closeSink(), cpuMs: cpuMsSince(since.cpu) };
    default:
      throw new Error(`unknown request ${String(m.cmd)}`);
  }
});
process.send!({ ready: true });
