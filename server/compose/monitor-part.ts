import { createServer, type Server } from 'node:http';
import { readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { alarmNotice, type AlarmChange } from '../domain/alarms.ts';
import { AlarmWatch } from '../observe/alarm-watch.ts';
import type { Metrics, QueueFigures } from '../observe/metrics.ts';
import { sharedClock } from '../rtp/media-clock.ts';
import { listenError, type Part, type Wiring } from './part.ts';

/** What the monitor part keeps: built by the first part that needs it. */
export interface Monitor {
  /** The Prometheus registry; null when `metrics.enabled` is false. */
  metrics: Metrics | null;
  alarms: AlarmWatch;
}

/** A store's bytes are summed at most this often: walking the audio folder is not free. */
const STORE_SIZE_MS = 60_000;

export async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    total += await stat(join(entry.parentPath, entry.name)).then(
      (s) => s.size,
      () => 0, // removed meanwhile
    );
  }
  return total;
}

/**
 * The metrics and alarms of the process, reading each figure from the part that keeps it
 * (calls from the phone, connections from each listener, the queue from the store) only when
 * scraped or checked, so a part the role does not run simply shows nothing.
 */
export async function buildMonitor(w: Wiring): Promise<Monitor> {
  const { config, dataDir } = w.loaded;
  const { context } = w;
  const disk = async (): Promise<{ freeBytes: number; sizeBytes: number }> => {
    const s = await statfs(dataDir);
    return { freeBytes: s.bavail * s.bsize, sizeBytes: s.blocks * s.bsize };
  };
  const queue = async (): Promise<QueueFigures> => {
    const figures: QueueFigures = { pending: {}, failed: {}, oldestPendingAt: null };
    for (const d of await context.deliveries.list()) {
      const by = d.status === 'pending' ? figures.pending : figures.failed;
      by[d.target] = (by[d.target] ?? 0) + 1;
      if (d.status === 'pending')
        figures.oldestPendingAt = Math.min(figures.oldestPendingAt ?? d.createdAt, d.createdAt);
    }
    return figures;
  };
  let sized: { at: number; bytes: Promise<number> } | null = null;
  const storeBytes = (): Promise<number> => {
    if (!sized || Date.now() - sized.at > STORE_SIZE_MS)
      sized = { at: Date.now(), bytes: folderBytes(dataDir).catch(() => 0) };
    return sized.bytes;
  };
  const { mailTo } = config.alarms;
  const alarmLog = w.log.child({ part: 'alarms' });
  // Each change is queued as a notice: durable at once, mailed when the mail server takes it.
  const mail = (change: AlarmChange): void => {
    const notice = alarmNotice(change, config.server.name, Date.now());
    context.deliveries
      .queueNotice(mailTo, notice)
      .catch((err: unknown) =>
        alarmLog.warn({ err, alarm: change.alarm.kind }, 'the alarm mail could not be queued'),
      );
  };
  const alarms = new AlarmWatch({
    observers: context.observers,
    log: alarmLog,
    diskFree: async () => (await disk()).freeBytes,
    oldestPendingAt: async () => (await queue()).oldestPendingAt,
    storeHealth: () => context.health(),
    diskFreeMinMB: config.alarms.diskFreeMinMB,
    queueStuckMinutes: config.alarms.queueStuckMinutes,
    checkSeconds: config.alarms.checkSeconds,
    onChange: mailTo ? mail : undefined,
  });
  // prom-client is loaded only by a server that serves metrics.
  const metrics = config.metrics.enabled
    ? new (await import('../observe/metrics.ts')).Metrics(context.observers, {
        calls: () =>
          w.phone?.counter.stats() ?? { active: 0, total: 0, refused: 0, refusedPerSource: 0 },
        listeners: () =>
          Object.fromEntries(Object.entries(w.listeners).map(([name, stats]) => [name, stats()])),
        queue,
        disk,
        storeBytes,
        webSessions: () => context.store.countWebSessions(Date.now()),
        lateness: (bounds) => sharedClock.latenessHistogram(bounds),
        alarms: () => alarms.active(),
        syslog: w.syslog ? () => w.syslog!.stats() : undefined,
      })
    : null;
  return { metrics, alarms };
}

/** The alarm checks, and /metrics on a port of its own when `metrics.listen` is set. */
export async function buildMonitorPart(w: Wiring): Promise<Part> {
  const { config } = w.loaded;
  const monitor = (w.monitor ??= await buildMonitor(w));
  const listen = config.metrics.enabled ? config.metrics.listen : null;
  let server: Server | null = null;
  let port = 0;
  return {
    listen: async () => {
      // Every node checks its own disk; nodes sharing a store each see the same queue.
      monitor.alarms.start();
      if (!listen) return;
      const metrics = monitor.metrics!;
      server = createServer((req, res) => {
        if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
          res.writeHead(404, { 'Content-Type': 'text/plain' }).end('only /metrics here\n');
          return;
        }
        metrics.render().then(
          ({ contentType, body }) => res.writeHead(200, { 'Content-Type': contentType }).end(body),
          (err: unknown) => {
            w.log.error({ err }, 'metrics could not be read');
            res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics unavailable\n');
          },
        );
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', (err) =>
          reject(listenError(err, 'metrics.listen.port', listen.host, listen.port)),
        );
        server!.listen(listen.port, listen.host, () => resolve());
      });
      const address = server.address();
      port = typeof address === 'object' && address ? address.port : listen.port;
    },
    close: async () => {
      await monitor.alarms.close();
      if (server) {
        server.closeAllConnections();
        await new Promise((resolve) => server!.close(resolve));
      }
      monitor.metrics?.close();
    },
    ports: () => ({ metrics: port }),
  };
}
