/**
 * The sip benchmark's Voicegate: `node sip-server.ts DIR SETTINGS_JSON`, a process of its own
 * running startServer() on a fresh data folder in DIR with mailboxes 201... (each with a tone
 * greeting), answering the benchmark over IPC:
 * - `reset`: starts a measurement (the shared media clock's lateness stats, CPU, event loop);
 * - `stats`: the media clock's stats since then, the call counter, CPU, event-loop use, memory;
 * - `messages`: the stored messages of some callers, with their audio files' paths.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { loadConfig } from '../../server/config/load.ts';
import { createLogger } from '../../server/log.ts';
import { toneWav } from '../../server/media/tone.ts';
import type { ClockStats } from '../../server/rtp/media-clock.ts';
import { startServer } from '../../server/server.ts';
import { cpuMsSince, serveRequests } from './sip-kit.ts';
import { embedded } from '../store/embedded.ts';

export interface ServerSettings {
  mailboxes: number;
  firstExtension: number;
  greetingSeconds: number;
  greetingFrequency: number;
  /** `--set` style overrides (ports, limits). */
  sets: string[];
}

export interface ServerStats {
  clock: ClockStats;
  counter: { active: number; refused: number; total: number; limit: number };
  cpuMs: number;
  wallMs: number;
  eventLoopUtilization: number;
  rssMiB: number;
  maxRssMiB: number;
  heapUsedMiB: number;
}

export interface StoredMessage {
  callerNumber: string | null;
  mailbox: string;
  durationMs: number;
  path: string;
}

const [dir, settingsJson] = process.argv.slice(2);
const settings = JSON.parse(settingsJson!) as ServerSettings;
const configFile = join(dir!, 'voicegate.yaml');
mkdirSync(dir!, { recursive: true });
writeFileSync(configFile, 'server:\n  dataDir: .\n');
const loaded = loadConfig(configFile, settings.sets);
const server = await startServer(loaded, createLogger(loaded.config.log.level));
const { mailboxes, messages } = server.context;
// The files themselves: the yardstick plays them with another tool.
const files = embedded(server.context).audio;
const greeting = toneWav({
  seconds: settings.greetingSeconds,
  frequency: settings.greetingFrequency,
});
const names: string[] = [];
for (let i = 0; i < settings.mailboxes; i++) {
  const extension = String(settings.firstExtension + i);
  const name = `bench${extension}`;
  await mailboxes.add({ name, extension }, '13572468');
  await messages.setGreeting(name, 'unavailable', greeting);
  names.push(name);
}

let since = { cpu: process.cpuUsage(), wall: performance.now() };
let elu: EventLoopUtilization = performance.eventLoopUtilization();

serveRequests(async (m) => {
  switch (m.cmd) {
    case 'reset':
      await server.phone.media.stats(true);
      since = { cpu: process.cpuUsage(), wall: performance.now() };
      elu = performance.eventLoopUtilization();
      return {};
    case 'stats': {
      const mem = process.memoryUsage();
      const stats: ServerStats = {
        clock: await server.phone.media.stats(),
        counter: server.phone.counter.stats(),
        cpuMs: cpuMsSince(since.cpu),
        wallMs: performance.now() - since.wall,
        eventLoopUtilization: performance.eventLoopUtilization(elu).utilization,
        rssMiB: mem.rss / 2 ** 20,
        maxRssMiB: process.resourceUsage().maxRSS / 1024,
        heapUsedMiB: mem.heapUsed / 2 ** 20,
      };
      return { stats };
    }
    case 'messages': {
      const prefix = String(m.prefix);
      const found: StoredMessage[] = [];
      for (const name of names) {
        const box = await mailboxes.resolve(name);
        for (const msg of await messages.list(box.id, 'inbox')) {
          if (!msg.callerNumber?.startsWith(prefix)) continue;
          found.push({
            callerNumber: msg.callerNumber,
            mailbox: name,
            durationMs: msg.audio.durationMs,
            path: files.path(msg.audio.key),
          });
        }
      }
      return { messages: found };
    }
    default:
      throw new Error(`unknown request ${String(m.cmd)}`);
  }
});

process.send!({ ready: true, sip: server.ports.sip, dataDir: loaded.dataDir });
const stop = (): void => {
  void server.close().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
