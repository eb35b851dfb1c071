/**
 * The media thread: every call's RTP socket, paced sender, receiver and recorder, on an event
 * loop of their own, so that the main thread's work (SIP, call flows, SQLite commits, IMAP and
 * web requests) never delays a packet. Driven by media-thread.ts through media-protocol.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type {
  MediaCommand,
  MediaEvent,
  MediaThreadSettings,
  RecordRequest,
} from './media-protocol.ts';
import { sharedClock } from './media-clock.ts';
import { PortPool } from './port-pool.ts';
import { Recorder } from './recorder.ts';
import { RtpSession } from './rtp-session.ts';

interface Live {
  rtp: RtpSession;
  recorder: Recorder | null;
}

const port = parentPort!;
const settings = workerData as MediaThreadSettings;
const pool = new PortPool(settings.portMin, settings.portMax);
const sessions = new Map<number, Live>();

function send(event: MediaEvent, transfer: ArrayBuffer[] = []): void {
  port.postMessage(event, transfer);
}

function fail(req: number, err: unknown): void {
  const e = err as { message?: string; code?: string };
  send({ op: 'error', req, message: e.message ?? String(err), code: e.code });
}

async function open(req: number, sid: number): Promise<void> {
  const rtp = await RtpSession.open({ pool, bindAddress: settings.bindAddress });
  const live: Live = { rtp, recorder: null };
  sessions.set(sid, live);
  rtp.onKey((key) => send({ op: 'key', sid, key }));
  send({ op: 'reply', req, value: { port: rtp.port } });
}

async function record(req: number, live: Live, opts: RecordRequest): Promise<void> {
  live.recorder?.stop('stopped');
  const recorder = new Recorder(opts);
  live.recorder = recorder;
  // Audio is decoded only while something records it.
  const unsubscribe = live.rtp.onAudio((samples) => recorder.push(samples));
  const done = await recorder.done;
  unsubscribe();
  if (live.recorder === recorder) live.recorder = null;
  send({ op: 'reply', req, value: done }, [done.samples.buffer as ArrayBuffer]);
}

async function close(req: number, sid: number): Promise<void> {
  const live = sessions.get(sid);
  sessions.delete(sid);
  live?.recorder?.stop('stopped');
  await live?.rtp.close();
  send({ op: 'reply', req, value: null });
}

async function handle(cmd: MediaCommand): Promise<void> {
  if (cmd.op === 'open') return open(cmd.req, cmd.sid);
  if (cmd.op === 'stats') {
    const stats = sharedClock.stats();
    if (cmd.reset) sharedClock.resetStats();
    return send({ op: 'reply', req: cmd.req, value: stats });
  }
  if (cmd.op === 'close') return close(cmd.req, cmd.sid);
  const live = sessions.get(cmd.sid);
  if (!live) {
    if ('req' in cmd) throw new Error(`no media session ${cmd.sid}`);
    return;
  }
  switch (cmd.op) {
    case 'configure':
      return live.rtp.configure(cmd.neg);
    case 'info-key':
      return live.rtp.infoKey(cmd.key);
    case 'play':
      return send({ op: 'reply', req: cmd.req, value: await live.rtp.play(cmd.samples) });
    case 'stop':
      return live.rtp.stop();
    case 'record':
      return record(cmd.req, live, cmd.opts);
    case 'stop-recording':
      return live.recorder?.stop(cmd.reason);
  }
}

// A command that fails answers its request with the error; one that cannot even do that (the
// port is closing) is dropped, so no rejection is left to end this thread and every call on it.
port.on('message', (cmd: MediaCommand) => {
  handle(cmd)
    .catch((err: unknown) => {
      if ('req' in cmd) fail(cmd.req, err);
    })
    .catch(() => {});
});
