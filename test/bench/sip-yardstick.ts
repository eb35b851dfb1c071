/**
 * The sip benchmark's yardstick: `node sip-yardstick.ts`, a bare Node process that paces `n`
 * RTP streams at 20 ms and does nothing else (no SIP, no flows, no recording). Like Voicegate's
 * media clock it has one drift-free timer, a socket per stream, packets built before the
 * first tick, and each packet's lateness measured just before its send() against its ideal
 * time; its send() call is the one RtpSession makes (unconnected socket, port and address), or
 * with `connected` the one a connect()ed socket allows (no per-packet address lookup).
 * Request `run` ({ports, seconds, connected}) returns that lateness, its CPU and event-loop use.
 */
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import {
  cpuMsSince,
  Lateness,
  PACKET_BYTES,
  RTP_HEADER_BYTES,
  SAMPLES_PER_PACKET,
  serveRequests,
  startTicker,
  ulawTone,
  writeRtpHeader,
} from './sip-kit.ts';

async function pace(
  ports: number[],
  seconds: number,
  connected: boolean,
): Promise<Record<string, unknown>> {
  const packets = Math.round((seconds * 1000) / 20);
  const audio = ulawTone(440, seconds);
  const streams: { socket: Socket; data: Buffer; port: number; seq: number; ssrc: number }[] = [];
  for (const port of ports) {
    const socket = createSocket('udp4');
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    if (connected) await new Promise<void>((resolve) => socket.connect(port, '127.0.0.1', resolve));
    const data = Buffer.alloc(packets * PACKET_BYTES);
    for (let k = 0; k < packets; k++) {
      const chunk = audio.subarray(k * SAMPLES_PER_PACKET, (k + 1) * SAMPLES_PER_PACKET);
      data.set(chunk, k * PACKET_BYTES + RTP_HEADER_BYTES);
    }
    const seq = (Math.random() * 0x10000) | 0;
    streams.push({ socket, data, port, seq, ssrc: (Math.random() * 0x100000000) >>> 0 });
  }
  const lateness = new Lateness();
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  const t0 = performance.now();
  let k = 0;
  await new Promise<void>((resolve) => {
    startTicker((ideal) => {
      const ts = Math.round((ideal - t0) * 8);
      for (const s of streams) {
        lateness.record(performance.now() - ideal);
        const offset = k * PACKET_BYTES;
        writeRtpHeader(s.data, offset, {
          marker: k === 0,
          payloadType: 0,
          seq: s.seq + k,
          ts,
          ssrc: s.ssrc,
        });
        if (connected) s.socket.send(s.data, offset, PACKET_BYTES);
        else s.socket.send(s.data, offset, PACKET_BYTES, s.port, '127.0.0.1');
      }
      if (++k < packets) return true;
      resolve();
      return false;
    });
  });
  const result = {
    send: lateness.stats(),
    cpuMs: cpuMsSince(cpu),
    wallMs: performance.now() - t0,
    eventLoopUtilization: performance.eventLoopUtilization(elu).utilization,
    rssMiB: process.memoryUsage().rss / 2 ** 20,
  };
  // Let the last packets leave before the sockets close.
  await new Promise((resolve) => setTimeout(resolve, 100));
  for (const s of streams) s.socket.close();
  return result;
}

serveRequests(async (m) => {
  if (m.cmd !== 'run') throw new Error(`unknown request ${String(m.cmd)}`);
  return pace(m.ports as number[], Number(m.seconds), m.connected === true);
});
process.send!({ ready: true });
